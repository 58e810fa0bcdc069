package poll

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestUntilDoneAtOnce(t *testing.T) {
	calls := 0
	err := Until(context.Background(), time.Second, time.Hour, func(context.Context) (bool, error) {
		calls++
		return true, nil
	})
	if err != nil || calls != 1 {
		t.Fatalf("Until = %v after %d calls, want nil after 1", err, calls)
	}
}

func TestUntilDoneAfterTries(t *testing.T) {
	calls := 0
	err := Until(context.Background(), time.Minute, time.Millisecond, func(context.Context) (bool, error) {
		calls++
		return calls == 3, nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("Until = %v after %d calls, want nil after 3", err, calls)
	}
}

func TestUntilConditionError(t *testing.T) {
	want := errors.New("the log says it cannot start")
	err := Until(context.Background(), time.Minute, time.Millisecond, func(context.Context) (bool, error) {
		return false, want
	})
	if !errors.Is(err, want) {
		t.Fatalf("Until = %v, want %v", err, want)
	}
}

func TestUntilTimeout(t *testing.T) {
	start := time.Now()
	calls := 0
	err := Until(context.Background(), 50*time.Millisecond, 10*time.Millisecond, func(context.Context) (bool, error) {
		calls++
		return false, nil
	})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Until = %v, want ErrTimeout", err)
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Fatalf("Until gave up after %s, before its timeout of 50ms", took)
	}
	if calls < 2 {
		t.Fatalf("cond asked %d times within the timeout, want at least 2", calls)
	}
}

// The deadline caps the last interval: a wait shorter than its interval
// asks once more at the deadline rather than sleeping an interval past it.
func TestUntilTimeoutShorterThanInterval(t *testing.T) {
	start := time.Now()
	calls := 0
	err := Until(context.Background(), 20*time.Millisecond, time.Hour, func(context.Context) (bool, error) {
		calls++
		return false, nil
	})
	if !errors.Is(err, ErrTimeout) || calls != 2 {
		t.Fatalf("Until = %v after %d calls, want ErrTimeout after 2", err, calls)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Until took %s, waiting out its interval past the deadline", took)
	}
}

// Cancelling ends the wait at once, mid-interval: an interval of an hour
// is not waited out.
func TestUntilCancelEndsTheInterval(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	asked := make(chan struct{})
	result := make(chan error, 1)
	go func() {
		result <- Until(ctx, 0, time.Hour, func(context.Context) (bool, error) {
			close(asked)
			return false, nil
		})
	}()
	<-asked
	cancel()
	select {
	case err := <-result:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Until = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Until did not return within 10s of the cancel (interval 1h)")
	}
}

// A context already ended does not count as the condition's answer: cond
// is not asked at all (a request on a cancelled context fails, which a
// caller waiting for "daemon down" would take for its answer).
func TestUntilCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Until(ctx, time.Minute, time.Millisecond, func(context.Context) (bool, error) {
		t.Error("cond asked on a cancelled context")
		return true, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Until = %v, want context.Canceled", err)
	}
}

func TestUntilNoDeadlineOfItsOwn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := Until(ctx, 0, time.Millisecond, func(context.Context) (bool, error) { return false, nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Until = %v, want the context's DeadlineExceeded", err)
	}
}
