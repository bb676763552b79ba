package datetime

import "time"

// SetNow makes d read the current time from now.
func SetNow(d *Date, now func() time.Time) { d.now = now }
