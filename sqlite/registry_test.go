package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
)

func mustVersion(tb testing.TB, s *sqlite.Store, name, source, runID string, tags map[string]string) *tracking.ModelVersion {
	tb.Helper()
	mv, err := s.CreateModelVersion(context.Background(), name, source, runID, "", tags)
	if err != nil {
		tb.Fatalf("CreateModelVersion(%q, %q): %v", name, source, err)
	}
	return mv
}

// versionNumbers returns the version numbers of a model, in order.
func versionNumbers(tb testing.TB, s *sqlite.Store, name string) []int {
	tb.Helper()
	list, err := s.ListModelVersions(context.Background(), name)
	if err != nil {
		tb.Fatalf("ListModelVersions(%q): %v", name, err)
	}
	out := []int{}
	for _, v := range list {
		out = append(out, v.Version)
	}
	return out
}

func oneTo(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

// Environment of the helper processes of TestMultiProcessVersionNumbering.
const (
	envRegistryDB     = "MLRUN_REGISTRY_HELPER_DB"
	envRegistryWorker = "MLRUN_REGISTRY_HELPER_WORKER"
	envRegistryStart  = "MLRUN_REGISTRY_HELPER_START"
)

const (
	registryProcesses   = 5
	registryPerProcess  = 2 // 10 versions in all
	registrySharedModel = "shared"
)

// TestRegistryHelperProcess is not a test: TestMultiProcessVersionNumbering
// runs the test binary as processes that each register versions.
func TestRegistryHelperProcess(t *testing.T) {
	dbPath := os.Getenv(envRegistryDB)
	if dbPath == "" {
		t.Skip("helper process of TestMultiProcessVersionNumbering")
	}
	worker := os.Getenv(envRegistryWorker)
	startMs, _ := strconv.ParseInt(os.Getenv(envRegistryStart), 10, 64)
	time.Sleep(time.Until(time.UnixMilli(startMs)))
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dbPath, filepath.Join(filepath.Dir(dbPath), "artifacts"))
	if err != nil {
		t.Fatalf("worker %s: Open: %v", worker, err)
	}
	defer s.Close()
	for i := 0; i < registryPerProcess; i++ {
		_, err := s.CreateModelVersion(ctx, registrySharedModel, "file:///models/"+worker+"/"+strconv.Itoa(i), "", "",
			map[string]string{"by": worker + "/" + strconv.Itoa(i)})
		if err != nil {
			t.Fatalf("worker %s: CreateModelVersion: %v", worker, err)
		}
	}
}

// TestMultiProcessVersionNumbering registers one name from 5 processes
// (2 versions each) that open a brand-new database at the same moment: the
// versions are exactly 1..10, each registration once.
func TestMultiProcessVersionNumbering(t *testing.T) {
	if os.Getenv(envRegistryDB) != "" {
		t.Skip("inside a helper process")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "shared.db")
	start := time.Now().Add(1 * time.Second).UnixMilli()
	runHelpers(t, "TestRegistryHelperProcess", registryProcesses, func(i int) []string {
		return []string{envRegistryDB + "=" + dbPath, envRegistryWorker + "=" + strconv.Itoa(i),
			envRegistryStart + "=" + strconv.FormatInt(start, 10)}
	})
	s, err := sqlite.Open(context.Background(), dbPath, filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const total = registryProcesses * registryPerProcess
	if got := versionNumbers(t, s, registrySharedModel); !reflect.DeepEqual(got, oneTo(total)) {
		t.Fatalf("versions = %v, want 1..%d", got, total)
	}
	list, _ := s.ListModelVersions(context.Background(), registrySharedModel)
	seen := map[string]int{}
	for _, v := range list {
		seen[v.Tags["by"]]++
	}
	for w := 0; w < registryProcesses; w++ {
		for i := 0; i < registryPerProcess; i++ {
			if k := fmt.Sprintf("%d/%d", w, i); seen[k] != 1 {
				t.Errorf("registration %s appears %d times", k, seen[k])
			}
		}
	}
}

// TestRegistrySurvivesReopen checks that the registry is in the file:
// another Store on the same file sees it.
func TestRegistrySurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "mlrun.db")
	s, err := sqlite.Open(ctx, db, filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	mustVersion(t, s, "m", "file:///m/1", "", nil)
	if err := s.SetAlias(ctx, "m", "champion", 1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, db, filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mv, err := s.GetVersionByAlias(ctx, "m", "champion")
	if err != nil || mv.Version != 1 || mv.Source != "file:///m/1" {
		t.Fatalf("after reopening: %+v, %v", mv, err)
	}
	var n int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM schema_migrations WHERE name = '0002_registry.sql'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("migration 0002 recorded %d times (%v)", n, err)
	}
}
