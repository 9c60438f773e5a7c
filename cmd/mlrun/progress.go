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

// stepSpinner shows, on a terminal, a spinner for a step that has run for
// more than a moment, with its latest progress (train_loss 0.231 at 45).
// Fast steps show nothing; command steps show their own output instead.
type stepSpinner struct {
	out   io.Writer
	delay time.Duration

	mu     sync.Mutex
	timer  *time.Timer
	bars   *mpb.Progress
	bar    *mpb.Bar
	latest string
}

func newStepSpinner(out io.Writer) *stepSpinner {
	return &stepSpinner{out: out, delay: 300 * time.Millisecond}
}

// StepStarted implements pipeline.StepObserver.
func (s *stepSpinner) StepStarted(step, kind string) {
	if kind == "command" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latest = ""
	s.timer = time.AfterFunc(s.delay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.timer == nil {
			return // the step ended meanwhile
		}
		s.bars = mpb.New(mpb.WithOutput(s.out), mpb.WithWidth(120), mpb.WithRefreshRate(100*time.Millisecond), mpb.WithAutoRefresh())
		s.bar = s.bars.New(0, mpb.SpinnerStyle(), mpb.BarWidth(1), mpb.BarRemoveOnComplete(),
			mpb.PrependDecorators(decor.Name(fmt.Sprintf("mlrun: step %-12s ", step))),
			mpb.AppendDecorators(decor.Elapsed(decor.ET_STYLE_GO), decor.Any(func(decor.Statistics) string {
				s.mu.Lock()
				defer s.mu.Unlock()
				return s.latest
			}, decor.WC{W: 1})))
	})
}

// StepProgress implements pipeline.StepObserver.
func (s *stepSpinner) StepProgress(step, key string, n int, value float64) {
	s.mu.Lock()
	if value == float64(n) { // a count, such as trees_built
		s.latest = fmt.Sprintf("  %s %d", key, n)
	} else {
		s.latest = fmt.Sprintf("  %s %.4g (step %d)", key, value, n)
	}
	s.mu.Unlock()
}

// StepFinished implements pipeline.StepObserver: the spinner goes away
// before the runner prints how the step ended.
func (s *stepSpinner) StepFinished(pipeline.StepOutcome) {
	s.mu.Lock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	bars, bar := s.bars, s.bar
	s.bars, s.bar = nil, nil
	s.mu.Unlock()
	if bars != nil {
		bar.Abort(true)
		bars.Wait()
	}
}
