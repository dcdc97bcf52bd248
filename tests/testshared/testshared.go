// Package testshared locates the shared test material (models, reference
// outputs, texts) that lives in ../shared beside the repository root.
package testshared

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns <repository root>/../shared, or skips the test with a message
// saying where it looked when the material is absent, so the suite still
// runs on a machine without it.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the test directory, so no ../shared test material to read")
		}
		dir = parent
	}
	s := filepath.Join(dir, "..", "shared")
	if st, err := os.Stat(filepath.Join(s, "models")); err != nil || !st.IsDir() {
		t.Skipf("shared test material not found at %s (expected beside the repository root)", s)
	}
	return s
}
