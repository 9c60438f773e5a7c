package modelfile

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml/dataset"
)

// dirFiles returns the names, modes and contents of the files in dir.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fi.Mode().String() + "\n" + string(data)
	}
	return out
}

// names returns the entries of dir, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// A model saved into a reservation is the model Save writes (same files,
// bytes and modes, directory mode included), whatever was reserved: files
// reserved but not saved are gone, files saved but not reserved are there,
// and no temporary directory is left.
func TestReservedSaveWritesWhatSaveWrites(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		reserveONNX, reserveEx bool
		onnx, example          bool
	}{
		{"as reserved", true, true, true, true},
		{"no onnx after all", true, true, false, true},
		{"onnx not reserved", false, true, true, true},
		{"example not reserved", true, false, true, true},
		{"no example", false, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			save := func(dir string, r *Reservation) {
				m, f := fitModel(t)
				if tc.onnx {
					m.ONNX = &ONNXModel{Data: []byte("onnx bytes"), Version: "1.23.0"}
				}
				var ex *dataset.Frame
				if tc.example {
					ex = f
				}
				var err error
				if r == nil {
					err = Save(dir, m, ex)
				} else {
					err = r.Save(m, ex)
					r.Release() // a no-op after Save
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			plain := filepath.Join(t.TempDir(), "model")
			save(plain, nil)
			parent := t.TempDir()
			reserved := filepath.Join(parent, "model")
			save(reserved, Reserve(reserved, tc.reserveONNX, tc.reserveEx))

			want, got := dirFiles(t, plain), dirFiles(t, reserved)
			if len(got) != len(want) {
				t.Errorf("reserved save wrote %v, Save wrote %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
			}
			for name, w := range want {
				if got[name] != w {
					t.Errorf("%s: reserved save wrote\n%s\nSave wrote\n%s", name, got[name], w)
				}
			}
			pi, _ := os.Stat(plain)
			ri, _ := os.Stat(reserved)
			if pi.Mode() != ri.Mode() {
				t.Errorf("directory mode %v, Save's %v", ri.Mode(), pi.Mode())
			}
			if n := names(t, parent); !slices.Equal(n, []string{"model"}) {
				t.Errorf("the parent directory holds %v, want only model", n)
			}
		})
	}
}

// A reservation released unused leaves nothing behind; one cannot be
// saved into twice; an existing model is a Conflict, without leftovers.
func TestReservationCleansUp(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "model")
	Reserve(dir, true, true).Release()
	if n := names(t, parent); len(n) != 0 {
		t.Fatalf("a released reservation left %v", n)
	}

	r := Reserve(dir, true, true)
	m, f := fitModel(t)
	if err := r.Save(m, f); err != nil {
		t.Fatal(err)
	}
	before := dirFiles(t, dir)
	if err := r.Save(m, f); err == nil {
		t.Error("a second save into one reservation succeeded")
	}
	r.Release()
	if after := dirFiles(t, dir); len(after) != len(before) {
		t.Errorf("after a second save and a release the model holds %d files, not %d", len(after), len(before))
	}

	r = Reserve(dir, true, true)
	if err := r.Save(m, f); errs.Code(err) != errs.Conflict {
		t.Errorf("save over a model: %v, want a Conflict error", err)
	}
	r.Release()
	if n := names(t, parent); !slices.Equal(n, []string{"model"}) {
		t.Errorf("after a refused save the parent holds %v", n)
	}
	if got := dirFiles(t, dir); !bytes.Equal([]byte(got[MLmodelFile]), []byte(before[MLmodelFile])) {
		t.Error("a refused save changed the existing model")
	}
}
