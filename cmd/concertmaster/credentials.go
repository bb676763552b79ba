package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"
)

// credential is the session concertmaster login keeps for one server.
type credential struct {
	Server       string    `json:"server"`
	AccessToken  string    `json:"accessToken"`
	RefreshToken string    `json:"refreshToken"`
	ExpiresAt    time.Time `json:"expiresAt"`
	TenantID     string    `json:"tenantId"`
}

// credentialsFile is the file's content: one session per server.
type credentialsFile struct {
	Sessions []credential `json:"sessions"`
}

// credentialStore is the file of the sessions concertmaster login keeps, readable by its owner only
// (0600, in a 0700 directory). Writes replace it whole (a temporary file renamed over it), under a
// lock that other concertmaster processes take too: two commands that renew the same session at
// once would otherwise both present its refresh token, and the second would revoke the session.
type credentialStore struct {
	path string
}

// userConfigDir is os.UserConfigDir reading the environment through lookupEnv.
func userConfigDir(lookupEnv func(string) (string, bool)) (string, error) {
	get := func(name string) string {
		v, _ := lookupEnv(name)
		return v
	}
	var dir string
	switch runtime.GOOS {
	case "windows":
		dir = get("AppData")
	case "darwin", "ios":
		if home := get("HOME"); home != "" {
			dir = filepath.Join(home, "Library", "Application Support")
		}
	case "plan9":
		if home := get("home"); home != "" {
			dir = filepath.Join(home, "lib")
		}
	default:
		dir = get("XDG_CONFIG_HOME")
		if !filepath.IsAbs(dir) {
			dir = ""
			if home := get("HOME"); home != "" {
				dir = filepath.Join(home, ".config")
			}
		}
	}
	if dir == "" {
		return "", errors.New("cannot tell where to keep the session: set HOME (or XDG_CONFIG_HOME)")
	}
	return dir, nil
}

// openCredentials returns the user's credential store: <config dir>/concertmaster/credentials.json.
func openCredentials(lookupEnv func(string) (string, bool)) (*credentialStore, error) {
	dir, err := userConfigDir(lookupEnv)
	if err != nil {
		return nil, err
	}
	return &credentialStore{path: filepath.Join(dir, "concertmaster", "credentials.json")}, nil
}

// read returns the stored sessions; none when the file does not exist.
func (cs *credentialStore) read() (*credentialsFile, error) {
	b, err := os.ReadFile(cs.path)
	if errors.Is(err, fs.ErrNotExist) {
		return &credentialsFile{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the stored sessions: %w", err)
	}
	var f credentialsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s is damaged (%w): delete it and sign in again", cs.path, err)
	}
	return &f, nil
}

// get returns the session stored for server, nil when there is none.
func (cs *credentialStore) get(server string) (*credential, error) {
	f, err := cs.read()
	if err != nil {
		return nil, err
	}
	for _, c := range f.Sessions {
		if c.Server == server {
			return &c, nil
		}
	}
	return nil, nil
}

// put stores c, replacing the session of its server. The caller holds the lock.
func (cs *credentialStore) put(c credential) error {
	f, err := cs.read()
	if err != nil {
		return err
	}
	f.Sessions = slices.DeleteFunc(f.Sessions, func(o credential) bool { return o.Server == c.Server })
	f.Sessions = append(f.Sessions, c)
	return cs.write(f)
}

// remove deletes the session of server and reports whether there was one. The caller holds the lock.
func (cs *credentialStore) remove(server string) (bool, error) {
	f, err := cs.read()
	if err != nil {
		return false, err
	}
	n := len(f.Sessions)
	f.Sessions = slices.DeleteFunc(f.Sessions, func(o credential) bool { return o.Server == server })
	if len(f.Sessions) == n {
		return false, nil
	}
	return true, cs.write(f)
}

// write replaces the file: a temporary file (0600) in the same directory, synced, renamed over it.
func (cs *credentialStore) write(f *credentialsFile) error {
	dir := filepath.Dir(cs.path)
	if err := cs.mkdir(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".credentials-*.json") // mode 0600
	if err != nil {
		return fmt.Errorf("store the session: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // after the rename there is nothing to remove
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("store the session: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("store the session: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("store the session: %w", err)
	}
	if err := os.Rename(tmp.Name(), cs.path); err != nil {
		return fmt.Errorf("store the session: %w", err)
	}
	return nil
}

// mkdir creates the store's directory, readable by its owner only.
func (cs *credentialStore) mkdir() error {
	dir := filepath.Dir(cs.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store the session: %w", err)
	}
	// MkdirAll leaves an existing directory as it is (and the umask may have widened a new one).
	if err := os.Chmod(dir, 0o700); err != nil { //nolint:gosec // a directory: its owner needs x to enter it; nobody else gets anything
		return fmt.Errorf("store the session: %w", err)
	}
	return nil
}

// lock takes the store's lock, held until unlock is called, so that one process at a time reads,
// renews and writes a session.
func (cs *credentialStore) lock() (unlock func(), err error) {
	if err := cs.mkdir(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(cs.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the stored sessions: %w", err)
	}
	if err := lockFile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock the stored sessions: %w", err)
	}
	return func() {
		_ = unlockFile(f)
		_ = f.Close()
	}, nil
}
