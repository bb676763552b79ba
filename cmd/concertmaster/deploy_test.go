package main

import (
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/concertmaster/concertmaster/internal/config"
)

// The deployment files are not built or started here (there is no Docker engine in CI): these tests
// read them and check them against the code, so that a renamed setting, flag or command breaks the
// build instead of a deployment.

// pendingEnv are variables the deployment files set for parts of issue 11 that land separately; each
// must become a setting (internal/config/settings.go) or be removed.
var pendingEnv = map[string]string{}

// checkCommand requires args to name a real subcommand whose flags parse.
func checkCommand(t *testing.T, args []string) {
	t.Helper()
	root := newRoot(io.Discard, io.Discard)
	cmd, rest, err := root.Find(args)
	require.NoError(t, err, "%v", args)
	require.NotEqual(t, root, cmd, "%v names no subcommand", args)
	require.NoError(t, cmd.ParseFlags(rest), "%v", args)
	require.Empty(t, cmd.Flags().Args(), "%v: stray arguments", args)
}

// checkEnvName requires name to be a setting, a standard OpenTelemetry variable or a pending one.
func checkEnvName(t *testing.T, where, name string) {
	t.Helper()
	if strings.HasPrefix(name, "OTEL_") {
		return
	}
	if _, pending := pendingEnv[name]; pending {
		return
	}
	require.True(t, config.KnownEnv(name), "%s sets %s, which is not a setting (internal/config/settings.go)", where, name)
}

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       map[string]string `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Healthcheck *struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		DependsOn       map[string]struct{ Condition string } `yaml:"depends_on"` //nolint:tagliatelle // Compose spells its fields so
		Volumes         []string                              `yaml:"volumes"`
		Ports           []string                              `yaml:"ports"`
		StopGracePeriod string                                `yaml:"stop_grace_period"` //nolint:tagliatelle // Compose spells its fields so
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// TestDockerCompose checks deploy/docker-compose.yml: PostgreSQL, Redis, one API process, two workers
// and an OpenTelemetry collector; real commands, flags and settings; secrets only by reference.
func TestDockerCompose(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../deploy/docker-compose.yml")
	require.NoError(t, err)
	var c composeFile
	require.NoError(t, yaml.Unmarshal(raw, &c))

	require.Contains(t, c.Services["postgres"].Image, "postgres:")
	require.Contains(t, c.Services["redis"].Image, "redis:")
	for _, name := range []string{"postgres", "redis"} {
		require.NotNil(t, c.Services[name].Healthcheck, "%s has a healthcheck", name)
		require.NotEmpty(t, c.Services[name].Healthcheck.Test)
		require.NotEmpty(t, c.Services[name].Volumes, "%s keeps its data in a volume", name)
	}

	api := c.Services["api"]
	require.Equal(t, []string{"serve", "--role=api"}, api.Command)
	require.Equal(t, "..", api.Build["context"], "the API service builds the repository's Dockerfile")
	require.Contains(t, api.Ports, "8080:8080")
	require.Equal(t, "0.0.0.0:8080", api.Environment["CM_ADDR"])
	workers := 0
	for name, svc := range c.Services {
		if !strings.HasPrefix(name, "worker") {
			continue
		}
		workers++
		require.Equal(t, "worker", svc.Command[0], name)
		require.Equal(t, "service_healthy", svc.DependsOn["postgres"].Condition, name)
	}
	require.Equal(t, 2, workers)

	secretRef := regexp.MustCompile(`\$\{[A-Z_]+(:[?-][^}]*)?\}`)
	for name, svc := range c.Services {
		if strings.HasPrefix(svc.Image, "${CM_IMAGE") {
			checkCommand(t, svc.Command)
			require.Equal(t, "service_healthy", svc.DependsOn["postgres"].Condition, name)
			require.NotEmpty(t, svc.StopGracePeriod, "%s: Docker must wait for the drain", name)
			for _, env := range []string{"CM_DATABASE_URL", "CM_SECRET_KEY", "CM_REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
				require.NotEmpty(t, svc.Environment[env], "%s sets %s", name, env)
			}
			require.Regexp(t, `^postgres://`, svc.Environment["CM_DATABASE_URL"])
			require.Equal(t, "http://otel-collector:4318", svc.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"])
		}
		for env, value := range svc.Environment {
			if strings.HasPrefix(svc.Image, "${CM_IMAGE") {
				checkEnvName(t, "service "+name, env)
			}
			if strings.Contains(env, "SECRET") || strings.Contains(env, "PASSWORD") {
				require.Regexp(t, `^`+secretRef.String()+`$`, value, "%s: %s comes from deploy/.env, not from the file", name, env)
			}
		}
	}
	require.Contains(t, c.Services["otel-collector"].Volumes, "./otel-collector.yaml:/etc/otelcol/config.yaml:ro")
	for _, v := range []string{"postgres", "redis", "files"} {
		require.Contains(t, c.Volumes, v)
	}

	var otel struct {
		Receivers map[string]struct {
			Protocols map[string]struct{ Endpoint string } `yaml:"protocols"`
		} `yaml:"receivers"`
		Exporters map[string]any `yaml:"exporters"`
		Service   struct {
			Pipelines map[string]struct{ Receivers, Exporters []string } `yaml:"pipelines"`
		} `yaml:"service"`
	}
	raw, err = os.ReadFile("../../deploy/otel-collector.yaml")
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(raw, &otel))
	require.Equal(t, "0.0.0.0:4318", otel.Receivers["otlp"].Protocols["http"].Endpoint)
	require.Contains(t, otel.Exporters, "debug")
	for _, p := range []string{"traces", "metrics", "logs"} {
		require.Equal(t, []string{"otlp"}, otel.Service.Pipelines[p].Receivers, p)
		require.Equal(t, []string{"debug"}, otel.Service.Pipelines[p].Exporters, p)
	}

	example, err := os.ReadFile("../../deploy/.env.example")
	require.NoError(t, err)
	for _, line := range strings.Split(string(example), "\n") {
		name, value, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(name, "CM_") && name != "CM_IMAGE" {
			checkEnvName(t, "deploy/.env.example", name)
		}
		if strings.Contains(name, "SECRET") || strings.Contains(name, "PASSWORD") {
			require.Empty(t, value, "deploy/.env.example holds no secret")
		}
	}
}

// TestDockerfile checks the Dockerfile's shape: the web editor built with Node 20, a static binary
// built with Go 1.26 and the Makefile's flags, a distroless final stage running as a non-root user
// on port 8080.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	type stage struct {
		from, name string
		lines      []string
	}
	var stages []stage
	for _, line := range strings.Split(strings.ReplaceAll(string(raw), "\\\n", " "), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if strings.EqualFold(fields[0], "FROM") {
			st := stage{from: fields[1]}
			if len(fields) == 4 && strings.EqualFold(fields[2], "AS") {
				st.name = fields[3]
			}
			stages = append(stages, st)
			continue
		}
		require.NotEmpty(t, stages, "an instruction before FROM: %s", line)
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
	}
	require.Len(t, stages, 3)
	web, build, final := stages[0], stages[1], stages[2]
	require.Regexp(t, `^node:20[.-]`, web.from)
	require.Contains(t, strings.Join(web.lines, "\n"), "npm ci")
	require.Contains(t, strings.Join(web.lines, "\n"), "npm run build")

	require.Regexp(t, `^golang:1\.26[.-]`, build.from)
	buildText := strings.Join(build.lines, "\n")
	require.Contains(t, buildText, "COPY --from="+web.name+" /src/web/dist ./web/dist")
	goBuild := regexp.MustCompile(`CGO_ENABLED=0 go build -trimpath -ldflags "([^"]*)" -o \S+ ./cmd/concertmaster`).FindStringSubmatch(buildText)
	require.NotNil(t, goBuild, "a static go build of ./cmd/concertmaster:\n%s", buildText)
	makefile, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	ldflags := regexp.MustCompile(`(?m)^LDFLAGS\s*:=\s*(.*)$`).FindSubmatch(makefile)
	require.NotNil(t, ldflags)
	require.Equal(t, strings.ReplaceAll(string(ldflags[1]), "$(VERSION)", "${VERSION}"), goBuild[1], "the Makefile's flags")

	require.Regexp(t, `^gcr\.io/distroless/static(-debian\d+)?:nonroot$`, final.from, "CA certificates and tzdata, no shell")
	var user, exposed string
	for _, line := range final.lines {
		fields := strings.Fields(line)
		switch strings.ToUpper(fields[0]) {
		case "USER":
			user = fields[1]
		case "EXPOSE":
			exposed = fields[1]
		case "HEALTHCHECK":
			t.Fatalf("distroless has no shell to run a HEALTHCHECK: %s", line)
		case "COPY":
			require.True(t, slices.ContainsFunc(fields, func(f string) bool { return strings.HasPrefix(f, "--from=") }),
				"the final stage copies from the build stages only: %s", line)
		}
	}
	require.NotEmpty(t, user, "the final stage sets USER")
	uid, _, _ := strings.Cut(user, ":")
	require.NotContains(t, []string{"0", "root"}, uid, "the image runs as a non-root user")
	require.Equal(t, "8080", exposed)
	finalText := strings.Join(final.lines, "\n")
	require.Contains(t, finalText, "CM_ADDR=0.0.0.0:8080")
	require.Contains(t, finalText, `ENTRYPOINT ["/usr/local/bin/concertmaster"]`)
	for _, line := range final.lines {
		if strings.HasPrefix(line, "ENV ") {
			for _, kv := range strings.Fields(strings.TrimPrefix(line, "ENV ")) {
				name, _, _ := strings.Cut(kv, "=")
				checkEnvName(t, "Dockerfile", name)
			}
		}
	}
}
