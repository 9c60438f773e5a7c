package provenance

import (
	"os"
	"os/user"
	"runtime"
)

// System describes the machine and program that ran a run.
type System struct {
	MlrunVersion string // version of the mlrun binary
	GoVersion    string // Go toolchain that built it, e.g. "go1.26.0"
	OS, Arch     string // runtime.GOOS and runtime.GOARCH
	Host         string // host name, "unknown" when it cannot be read
	User         string // user name, see CurrentSystem
}

// CurrentSystem describes this process. User is the current user's name
// from os/user, falling back to $USER, then "unknown".
func CurrentSystem(mlrunVersion string) System {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = os.Getenv("USER")
	}
	if name == "" {
		name = "unknown"
	}
	return System{
		MlrunVersion: mlrunVersion,
		GoVersion:    runtime.Version(),
		OS:           runtime.GOOS,
		Arch:         runtime.GOARCH,
		Host:         host,
		User:         name,
	}
}
