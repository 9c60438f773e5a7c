package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlrun/mlrun/pipeline"
)

// syncBuffer is a bytes.Buffer safe for the spinner's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A step that outlasts the delay shows its name and latest progress; a
// fast step and a command step show nothing.
func TestStepSpinner(t *testing.T) {
	var out syncBuffer
	s := newStepSpinner(&out)
	s.delay = 20 * time.Millisecond

	s.StepStarted("load", "load")
	s.StepFinished(pipeline.StepOutcome{Name: "load"})
	s.StepStarted("script", "command")
	time.Sleep(60 * time.Millisecond)
	s.StepFinished(pipeline.StepOutcome{Name: "script"})
	if got := out.String(); got != "" {
		t.Fatalf("fast and command steps drew %q", got)
	}

	s.StepStarted("train", "train")
	s.StepProgress("train", "trees_built", 7, 7)
	time.Sleep(400 * time.Millisecond) // the delay, then a few refreshes
	s.StepFinished(pipeline.StepOutcome{Name: "train"})
	got := out.String()
	if !strings.Contains(got, "step train") || !strings.Contains(got, "trees_built 7") {
		t.Errorf("spinner drew %q", got)
	}
}
