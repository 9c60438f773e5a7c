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

// CurrentSystem describes this process. User is the user's name as
// MLflow records it (Python's getpass.getuser): the first of $LOGNAME,
// $USER, $LNAME and $USERNAME that is set, else the name of the process's
// user (os/user), else "unknown".
func CurrentSystem(mlrunVersion string) System {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return System{
		MlrunVersion: mlrunVersion,
		GoVersion:    runtime.Version(),
		OS:           runtime.GOOS,
		Arch:         runtime.GOARCH,
		Host:         host,
		User:         userName(os.Getenv),
	}
}

// userName returns the user's name as getpass.getuser does, reading the
// environment through getenv.
func userName(getenv func(string) string) string {
	for _, v := range []string{"LOGNAME", "USER", "LNAME", "USERNAME"} {
		if name := getenv(v); name != "" {
			return name
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}
