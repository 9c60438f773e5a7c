package tracking

// Resources is what one run asks a cluster (an executor such as Slurm)
// for; a schedule keeps them for its fires. Empty fields ask for the
// cluster's defaults.
type Resources struct {
	Partition string   `yaml:"partition" json:"partition,omitempty"`
	Time      string   `yaml:"time" json:"time,omitempty"` // Slurm's time format: minutes, MM:SS, HH:MM:SS, D-HH
	Mem       string   `yaml:"mem" json:"mem,omitempty"`   // e.g. 4G
	CPUs      int      `yaml:"cpus" json:"cpus,omitempty"`
	GPUs      string   `yaml:"gpus" json:"gpus,omitempty"` // e.g. 1 or a100:2
	Account   string   `yaml:"account" json:"account,omitempty"`
	Args      []string `yaml:"args" json:"args,omitempty"` // raw extra arguments to the submit command
}

// Merge returns r with every empty field taken from def.
func (r Resources) Merge(def Resources) Resources {
	pick := func(a, b string) string {
		if a != "" {
			return a
		}
		return b
	}
	out := Resources{Partition: pick(r.Partition, def.Partition), Time: pick(r.Time, def.Time),
		Mem: pick(r.Mem, def.Mem), GPUs: pick(r.GPUs, def.GPUs), Account: pick(r.Account, def.Account), CPUs: r.CPUs}
	if out.CPUs == 0 {
		out.CPUs = def.CPUs
	}
	out.Args = append(append([]string(nil), def.Args...), r.Args...)
	return out
}
