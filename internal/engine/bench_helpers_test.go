package engine_test

import (
	"path/filepath"
	"testing"
)

func benchDBPath(b *testing.B) string { return filepath.Join(b.TempDir(), "bench.db") }
