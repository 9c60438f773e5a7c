package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/mlrun/mlrun/pipeline"
	"github.com/mlrun/mlrun/sweep"
	"github.com/mlrun/mlrun/tracking"
)

// sweepProgress shows a sweep as it goes: on a terminal, a bar for the
// sweep and a spinner per running trial; elsewhere (CI logs, pipes), one
// plain line per finished trial.
type sweepProgress struct {
	out   io.Writer
	total int

	mu      sync.Mutex
	done    int
	bars    *mpb.Progress // nil when not a terminal
	overall *mpb.Bar
	running map[int]*mpb.Bar
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newSweepProgress(out io.Writer, total int) *sweepProgress {
	p := &sweepProgress{out: out, total: total, running: map[int]*mpb.Bar{}}
	if isTerminal(out) {
		p.bars = mpb.New(mpb.WithOutput(out), mpb.WithWidth(40), mpb.WithRefreshRate(100*time.Millisecond))
		p.overall = p.bars.AddBar(int64(total),
			mpb.PrependDecorators(decor.Name("sweep "), decor.CountersNoUnit("%d/%d trials")),
			mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace), decor.Name(" "), decor.Elapsed(decor.ET_STYLE_GO)))
	}
	return p
}

// TrialStarted implements pipeline.SweepObserver.
func (p *sweepProgress) TrialStarted(t sweep.Trial) {
	if p.bars == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[t.Index] = p.bars.New(0, mpb.SpinnerStyle(), mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(decor.Name(fmt.Sprintf("  trial %d  %s ", t.Index+1, pipeline.FormatTrial(t)))),
		mpb.AppendDecorators(decor.Elapsed(decor.ET_STYLE_GO)))
}

// TrialFinished implements pipeline.SweepObserver.
func (p *sweepProgress) TrialFinished(r pipeline.TrialResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if p.bars != nil {
		if b := p.running[r.Trial.Index]; b != nil {
			b.Abort(true)
			delete(p.running, r.Trial.Index)
		}
		p.overall.Increment()
		return
	}
	line := fmt.Sprintf("mlrun: trial %d/%d (%s) %s in %s", p.done, p.total, pipeline.FormatTrial(r.Trial), r.Status, r.Duration.Round(time.Millisecond))
	if r.Status != tracking.StatusFinished && r.Error != "" {
		line += ": " + r.Error
	}
	fmt.Fprintln(p.out, line)
}

// Wait lets the bars draw their last frame.
func (p *sweepProgress) Wait() {
	if p.bars == nil {
		return
	}
	p.mu.Lock()
	for _, b := range p.running {
		b.Abort(true)
	}
	if !p.overall.Completed() {
		p.overall.Abort(false)
	}
	p.mu.Unlock()
	p.bars.Wait()
}
