// Command sbom writes an SPDX 2.3 JSON document of the Go modules in the
// release binaries, read from each binary's own build information
// (debug/buildinfo, what `go version -m` prints): the modules that were
// linked, not those go.mod lists. Reproducible: the document's time is
// SOURCE_DATE_EPOCH and everything is sorted.
//
//	go run ./scripts/sbom -version 1.2.3 dist/docker-userns-linux-amd64 ... >sbom.spdx.json
package main

import (
	"cmp"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"
)

type document struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      creationInfo   `json:"creationInfo"`
	Packages          []pkg          `json:"packages"`
	Relationships     []relationship `json:"relationships"`
}

type creationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type pkg struct {
	Name                  string        `json:"name"`
	SPDXID                string        `json:"SPDXID"`
	VersionInfo           string        `json:"versionInfo,omitempty"`
	DownloadLocation      string        `json:"downloadLocation"`
	FilesAnalyzed         bool          `json:"filesAnalyzed"`
	LicenseConcluded      string        `json:"licenseConcluded"`
	LicenseDeclared       string        `json:"licenseDeclared"`
	CopyrightText         string        `json:"copyrightText"`
	PrimaryPackagePurpose string        `json:"primaryPackagePurpose,omitempty"`
	Checksums             []checksum    `json:"checksums,omitempty"`
	ExternalRefs          []externalRef `json:"externalRefs,omitempty"`
}

type checksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

type externalRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type relationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

// module is one linked module: path and version as built (after replace).
type module struct{ path, version string }

func main() {
	version := flag.String("version", "", "the release's version")
	flag.Parse()
	if *version == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: sbom -version VERSION BINARY...")
		os.Exit(2)
	}
	doc, err := build(*version, flag.Args())
	if err == nil {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(doc)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sbom:", err)
		os.Exit(1)
	}
}

func build(version string, binaries []string) (document, error) {
	created, err := sourceDate()
	if err != nil {
		return document{}, err
	}
	doc := document{
		SPDXVersion: "SPDX-2.3",
		DataLicense: "CC0-1.0",
		SPDXID:      "SPDXRef-DOCUMENT",
		Name:        "docker-userns-" + version,
		CreationInfo: creationInfo{
			Created:  created.UTC().Format(time.RFC3339),
			Creators: []string{"Organization: docker-userns", "Tool: docker-userns-scripts-sbom"},
		},
	}
	contained := map[module][]string{} // module -> binaries' ids
	digest := sha256.New()
	for _, bin := range binaries {
		info, err := buildinfo.ReadFile(bin)
		if err != nil {
			return document{}, fmt.Errorf("read build info of %s: %w", bin, err)
		}
		sum, err := fileSHA256(bin)
		if err != nil {
			return document{}, err
		}
		digest.Write([]byte(sum))
		id := spdxID("Binary", filepath.Base(bin))
		doc.Packages = append(doc.Packages, pkg{
			Name: filepath.Base(bin), SPDXID: id, VersionInfo: version,
			DownloadLocation: "NOASSERTION", LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", CopyrightText: "NOASSERTION",
			PrimaryPackagePurpose: "APPLICATION",
			Checksums:             []checksum{{Algorithm: "SHA256", Value: sum}},
		})
		doc.Relationships = append(doc.Relationships, relationship{"SPDXRef-DOCUMENT", "DESCRIBES", id})
		mods := []module{{path: info.Main.Path, version: version}, {path: "stdlib", version: info.GoVersion}}
		for _, dep := range info.Deps {
			if dep.Replace != nil {
				dep = dep.Replace
			}
			mods = append(mods, module{dep.Path, dep.Version})
		}
		for _, m := range mods {
			contained[m] = append(contained[m], id)
		}
	}
	mods := make([]module, 0, len(contained))
	for m := range contained {
		mods = append(mods, m)
	}
	slices.SortFunc(mods, func(a, b module) int {
		return cmp.Or(cmp.Compare(a.path, b.path), cmp.Compare(a.version, b.version))
	})
	for _, m := range mods {
		id := spdxID("Module", m.path+"-"+m.version)
		doc.Packages = append(doc.Packages, pkg{
			Name: m.path, SPDXID: id, VersionInfo: m.version,
			DownloadLocation: "NOASSERTION", LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", CopyrightText: "NOASSERTION",
			PrimaryPackagePurpose: "LIBRARY",
			ExternalRefs:          []externalRef{{Category: "PACKAGE-MANAGER", Type: "purl", Locator: "pkg:golang/" + m.path + "@" + m.version}},
		})
		for _, bin := range contained[m] {
			doc.Relationships = append(doc.Relationships, relationship{bin, "CONTAINS", id})
		}
	}
	// The namespace is unique to these very binaries, and the same for the same bytes.
	doc.DocumentNamespace = "https://github.com/docker-userns/docker-userns/spdx/" + version + "-" + hex.EncodeToString(digest.Sum(nil))[:16]
	return doc, nil
}

// sourceDate is SOURCE_DATE_EPOCH: the commit's time, not the build's.
func sourceDate() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Time{}, errors.New("SOURCE_DATE_EPOCH is not set (the commit time: git log -1 --format=%ct)")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
	}
	return time.Unix(n, 0), nil
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var notIDChar = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// spdxID makes an SPDX identifier (letters, digits, '.', '-') of a name.
func spdxID(kind, name string) string {
	return "SPDXRef-" + kind + "-" + notIDChar.ReplaceAllString(name, "-")
}
