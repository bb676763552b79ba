// Package python holds ConcertMaster's single-file helper for process plugins written in Python,
// concertmaster_plugin.py, so that `concertmaster plugin new --lang python` can write it into a new
// plugin. The file next to this one is the only copy in the repository; `make plugins` copies it next
// to each Python example.
package python

import _ "embed" // the helper's source

// FileName is the helper's file name: a plugin imports it as concertmaster_plugin.
const FileName = "concertmaster_plugin.py"

//go:embed concertmaster_plugin.py
var source string

// Source returns the helper's source, to be written as FileName next to a plugin's main.py.
func Source() []byte { return []byte(source) }
