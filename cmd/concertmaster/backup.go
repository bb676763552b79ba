package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/concertmaster/concertmaster/internal/config"
	"github.com/concertmaster/concertmaster/internal/store/storesqlite"
)

// postgresBackupHelp is what backup and restore say about a PostgreSQL store.
const postgresBackupHelp = `the store is PostgreSQL, whose own tools make consistent copies while the server runs:
  pg_dump --format=custom --file=concertmaster.dump "$CM_DATABASE_URL"
and put one back (stop the servers and workers first):
  pg_restore --clean --if-exists --no-owner --dbname="$CM_DATABASE_URL" concertmaster.dump
then start ConcertMaster, which applies any newer migrations (see "Backup and restore" in the README)`

func newBackupCmd(load loader) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the SQLite database to FILE, also while the server runs",
		Long: "Write a consistent, compacted copy of the embedded SQLite database (CM_DATABASE_URL) to FILE with VACUUM INTO.\n" +
			"The server may keep running and writing: the copy is one snapshot. An existing FILE is refused unless --force.\n" +
			"For PostgreSQL, use pg_dump (the command says how).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := sqliteDatabase(load, "backup")
			if err != nil {
				return err
			}
			info, err := storesqlite.Backup(cmd.Context(), db.Path, args[0], force)
			if errors.Is(err, storesqlite.ErrExists) {
				return &exitError{code: 2, err: err}
			}
			if err != nil {
				return err
			}
			printInfo(cmd.OutOrStdout(), "backed up "+db.Path+" to "+args[0], info)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace FILE when it exists")
	return cmd
}

func newRestoreCmd(load loader) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the SQLite database with the backup in FILE",
		Long: "Replace the contents of the embedded SQLite database (CM_DATABASE_URL) with FILE, a backup made by\n" +
			"`concertmaster backup`, then apply newer migrations. FILE must be a sound ConcertMaster database whose\n" +
			"schema is not newer than this binary's. A database a running server (or any ConcertMaster process) has\n" +
			"open is refused: stop it first. --force restores into it anyway; restart that server afterwards, as the\n" +
			"executions it was running may fail. For PostgreSQL, use pg_restore (the command says how).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := sqliteDatabase(load, "restore")
			if err != nil {
				return err
			}
			info, err := storesqlite.Restore(cmd.Context(), args[0], db.Path, force)
			switch {
			case errors.Is(err, storesqlite.ErrLive):
				return &exitError{code: 2, err: fmt.Errorf("%w; stop it first, or pass --force to replace the live database (then restart it)", err)}
			case err != nil:
				return &exitError{code: 2, err: err}
			}
			printInfo(cmd.OutOrStdout(), "restored "+args[0]+" into "+db.Path, info)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "restore even into a database a running process has open")
	return cmd
}

// sqliteDatabase returns the configured SQLite database, or explains pg_dump for PostgreSQL.
func sqliteDatabase(load loader, op string) (config.Database, error) {
	c, _, err := load()
	if err != nil {
		return config.Database{}, err
	}
	db, err := config.ParseDatabaseURL(c.DatabaseURL)
	if err != nil {
		return config.Database{}, err
	}
	if db.Driver != "sqlite" {
		return config.Database{}, &exitError{code: 2, err: fmt.Errorf("%s: %s", op, postgresBackupHelp)}
	}
	return db, nil
}

func printInfo(w io.Writer, what string, info storesqlite.Info) {
	fmt.Fprintf(w, "%s: %d workflow(s), %d execution(s), schema version %d, %.1f MiB\n",
		what, info.Workflows, info.Executions, info.SchemaVersion, float64(info.Bytes)/(1<<20))
}
