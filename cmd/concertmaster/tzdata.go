package main

// The IANA time zone database, embedded (about 450 kB), so that schedules in a time zone
// (trigger.schedule's timezone) work on hosts and containers without /usr/share/zoneinfo. The
// system's copy, when there is one, is still preferred.
import _ "time/tzdata"
