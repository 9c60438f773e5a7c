package schedule_test

import (
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/schedule"
)

// Errors in a schedule name the line, column and field where the value
// is written, from the project's own parsed tree (not a second parse that
// guesses): through YAML merge keys and flow style too, and in the same
// words as the project's own errors.
func TestFromProjectErrorPositions(t *testing.T) {
	cases := []struct {
		name, section, want string
	}{
		{"inherited through a merge key", `schedules:
  - &base
    name: a
    cron: '@daily'
    executor: slurm
    resources: {time: "5"}
  - <<: *base
    name: b
    resources: {cpus: many}
`, `MLproject:19:5: schedules[1].resources.cpus: must be a whole number of at least 1, not the string "many"`},
		{"flow style", "schedules: [{name: a, cron: '@daily'}, {name: b, cron: '@daily', overlap: never}]\n",
			`MLproject:11:66: schedules[1].overlap: schedule b: overlap policy "never" is not valid; use skip, queue or allow`},
		{"a key written after a merge", `schedules:
  - &base
    name: a
    cron: '@daily'
  - <<: *base
    name: b
    missed: sometimes
`, `MLproject:17:5: schedules[1].missed: schedule b: missed-fire policy "sometimes" is not valid; use run_once or skip`},
		{"resources without slurm", "schedules:\n  - name: a\n    cron: '@daily'\n    resources: {time: \"5\"}\n",
			`MLproject:14:5: schedules[0].resources: schedule a: resources are asked of a cluster; they need executor slurm`},
		{"unknown executor", "schedules:\n  - name: a\n    cron: '@daily'\n    executor: k8s\n",
			`MLproject:14:5: schedules[0].executor: schedule a: executor "k8s" is not valid; use local or slurm`},
		{"bad resources key", "schedules:\n  - name: a\n    cron: '@daily'\n    executor: slurm\n    resources: {nodes: 2}\n",
			`MLproject:15:5: schedules[0].resources.nodes: unknown key (known: account, args, cpus, gpus, mem, partition, time)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := loadProject(t, projectHead+tc.section)
			_, err := schedule.FromProject(p)
			if errs.Code(err) != errs.Invalid {
				t.Fatalf("FromProject = %v (code %s), want errs.Invalid", err, errs.Code(err))
			}
			if msg := errs.Message(err); !strings.HasSuffix(msg, tc.want) {
				t.Errorf("message\n %q\nwant it to end with\n %q", msg, tc.want)
			}
		})
	}
}
