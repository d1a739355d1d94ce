package main

import (
	"runtime/debug"
	"strings"
)

// versionString is the version set at build time (-ldflags "-X
// main.version=..."), else what the Go toolchain recorded in the binary:
// the module's version (a tag when built with go install module@version)
// and the VCS revision, its time and whether the tree was modified (go
// build in a checkout). "dev" when neither is known.
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return fromBuildInfo(bi)
}

// fromBuildInfo formats bi as "v1.2.3 (rev 0123abcd, 2026-12-01T10:00:00Z,
// modified)", leaving out what is unknown.
func fromBuildInfo(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	var details []string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev := s.Value
			if len(rev) > 12 {
				rev = rev[:12]
			}
			details = append([]string{"rev " + rev}, details...)
		case "vcs.time":
			details = append(details, s.Value)
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified {
		details = append(details, "modified")
	}
	if len(details) > 0 {
		v += " (" + strings.Join(details, ", ") + ")"
	}
	if bi.GoVersion != "" {
		v += " " + bi.GoVersion
	}
	return v
}
