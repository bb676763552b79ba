//go:build !race

package expression

import "time"

// raceSlack is the extra time timing checks allow when the race detector slows everything down.
const raceSlack = 250 * time.Millisecond
