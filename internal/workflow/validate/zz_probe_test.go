package validate_test

import (
	"os"
	"testing"

	"github.com/concertmaster/concertmaster/internal/workflow"
	"github.com/concertmaster/concertmaster/internal/workflow/validate"
)

func TestZZProbe(t *testing.T) {
	b, _ := os.ReadFile("/tmp/fz/in.json")
	def, err := workflow.DecodeBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	_, err = validate.Compile(def, newRegistry(t), validate.Options{})
	t.Log(err)
}
