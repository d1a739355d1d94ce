package answer_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/debrief/debrief/internal/answer"
)

// budget is a clock the test fires: the 2 seconds pass when it says so.
type budget chan time.Time

func (b budget) after(time.Duration) <-chan time.Time { return b }

// record notes which of the reply's functions ran, in order.
type record struct {
	calls []string
	late  string
	err   error
}

func (rec *record) reply(rest func()) answer.Reply[string] {
	return answer.Reply[string]{
		Inline: func(_ context.Context, r string) func() {
			rec.calls = append(rec.calls, "inline:"+r)
			return rest
		},
		Defer: func() { rec.calls = append(rec.calls, "defer") },
		Late: func(_ context.Context, r string, err error) {
			rec.calls = append(rec.calls, "late:"+r)
			rec.late, rec.err = r, err
		},
	}
}

// TestInline: a command done within the budget is answered in the
// response, with nothing left to do, and the budget never fires.
func TestInline(t *testing.T) {
	var rec record
	then := answer.OrDefer(context.Background(), answer.Deadline{After: budget(nil).after},
		func(context.Context) string { return "done" }, rec.reply(nil))
	if then != nil {
		t.Errorf("then = non-nil, want nil: nothing remains")
	}
	if got, want := rec.calls, []string{"inline:done"}; !slices.Equal(got, want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
}

// TestInlineRest: an inline answer with more to send (a long answer's
// follow-ups) hands it back, to run after the response was flushed.
func TestInlineRest(t *testing.T) {
	var rec record
	ran := false
	then := answer.OrDefer(context.Background(), answer.Deadline{After: budget(nil).after},
		func(context.Context) string { return "part 1" }, rec.reply(func() { ran = true }))
	if then == nil || ran {
		t.Fatalf("then = %v, ran early = %v: want the rest handed back, not run", then != nil, ran)
	}
	then()
	if !ran {
		t.Errorf("the rest did not run")
	}
}

// TestDeferred: a command still running when the budget is over is
// acknowledged at once; its answer is delivered when it is done, even
// though the request that brought it has ended.
func TestDeferred(t *testing.T) {
	var rec record
	b := make(budget, 1)
	b <- time.Time{} // the budget is spent before the work ends
	release := make(chan struct{})
	ctx, endRequest := context.WithCancel(context.Background())
	then := answer.OrDefer(ctx, answer.Deadline{After: b.after}, func(ctx context.Context) string {
		<-release
		if ctx.Err() != nil {
			return "cut off"
		}
		return "slow answer"
	}, rec.reply(nil))
	if then == nil {
		t.Fatal("then = nil, want the late delivery")
	}
	if got, want := rec.calls, []string{"defer"}; !slices.Equal(got, want) {
		t.Fatalf("before the work ended: calls = %q, want %q", got, want)
	}
	endRequest()
	close(release)
	then()
	if got, want := rec.calls, []string{"defer", "late:slow answer"}; !slices.Equal(got, want) || rec.err != nil {
		t.Errorf("calls = %q (err %v), want %q", got, rec.err, want)
	}
}

// TestTooLong: a deferred command still running at the limit gets
// ErrTooLong delivered, so the user is told instead of left waiting.
func TestTooLong(t *testing.T) {
	var rec record
	b := make(budget, 1)
	b <- time.Time{}
	stuck := make(chan struct{})
	defer close(stuck)
	then := answer.OrDefer(context.Background(), answer.Deadline{After: b.after, Limit: time.Nanosecond},
		func(context.Context) string { <-stuck; return "never" }, rec.reply(nil))
	then()
	if !errors.Is(rec.err, answer.ErrTooLong) || rec.late != "" {
		t.Errorf("late = %q, %v; want \"\", ErrTooLong", rec.late, rec.err)
	}
}
