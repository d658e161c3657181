// Command render regenerates the deploy directory's generated files: the
// floe chart's copies of deploy/nats (the NATS accounts block and the stream
// configurations) and deploy/k8s/floe.yaml, the chart rendered with its
// default values by Helm's own Go code. Run it from deploy/ (or below):
//
//	go run ./render          # write them
//	go run ./render -check   # exit 1 if they are out of date
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/penguinmails/floe/deploy/internal/chartrender"
)

func main() {
	check := flag.Bool("check", false, "write nothing; exit 1 if a generated file is out of date")
	flag.Parse()
	if err := run(*check); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(check bool) error {
	root, err := chartrender.Root(".")
	if err != nil {
		return err
	}
	if check {
		want, err := chartrender.ChartFiles(root)
		if err != nil {
			return err
		}
		if want[chartrender.ManifestsFile], err = chartrender.Manifests(root); err != nil {
			return err
		}
		stale := 0
		for rel, data := range want {
			got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
			if err != nil || !bytes.Equal(got, data) {
				fmt.Printf("out of date: deploy/%s\n", rel)
				stale++
			}
		}
		if stale > 0 {
			return fmt.Errorf("%d generated file(s) out of date: run `go run ./render` in deploy/", stale)
		}
		fmt.Println("deploy/: generated files up to date")
		return nil
	}
	changed, err := chartrender.Generate(root)
	for _, rel := range changed {
		fmt.Printf("wrote deploy/%s\n", rel)
	}
	if err == nil && len(changed) == 0 {
		fmt.Println("deploy/: generated files already up to date")
	}
	return err
}
