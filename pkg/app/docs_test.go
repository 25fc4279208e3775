package app

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCitedDocsAreInTheRepository: every docs/*.md a comment cites exists,
// so a reader of the code can follow the reference.
func TestCitedDocsAreInTheRepository(t *testing.T) {
	root := filepath.Join("..", "..")
	cite := regexp.MustCompile(`docs/[A-Z]+\.md`)
	cited := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != root {
			if err == nil {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, doc := range cite.FindAllString(string(src), -1) {
			cited++
			if _, err := os.Stat(filepath.Join(root, doc)); err != nil {
				t.Errorf("%s cites %s, which is not in the repository", path, doc)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cited == 0 {
		t.Fatal("no citation found: the pattern is wrong")
	}
}
