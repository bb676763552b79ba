package dispatch

import "context"

// SweepOnce runs one pass of the leader's sweep, as its periodic job does.
func (d *River) SweepOnce(ctx context.Context) error {
	return (&sweepWorker{d: d}).Work(ctx, nil)
}
