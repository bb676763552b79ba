package datetime

const dateDocs = "Works with dates and times in an IANA time zone. Days, weeks, months and years follow the zone's " +
	"calendar, so that adding a day across a daylight-saving change keeps the wall-clock time; hours, minutes and " +
	"seconds are elapsed time.\n\n" +
	"## Configuration\n\n" +
	"- `operation`:\n" +
	"  - `parse` / `format`: read `date` and write it in `format` (the two are the same operation; use whichever reads better);\n" +
	"  - `add` / `subtract`: shift `date` by `duration`;\n" +
	"  - `diff`: count whole `unit`s from `date` to `to`;\n" +
	"  - `startOf` / `endOf`: the first or last millisecond of the `unit` (year, month, week, day, hour, minute, second) holding `date`;\n" +
	"  - `now`: the current time (`date` is not read).\n" +
	"- `date`: the date; without it, the input. A string is read with `inputFormat`; a number is Unix seconds " +
	"(or milliseconds with `inputFormat: unixMs`); an object this node output with `format: object` is read from its `iso`.\n" +
	"- `to` (diff): the second date, read like `date`.\n" +
	"- `inputFormat` (default `auto`): `auto` reads RFC 3339 (`2026-03-29T12:00:00+02:00`, `…Z`, with or " +
	"without fractions), then `2026-03-29 12:00:00`, `2026-03-29T12:00`, `2026-03-29` (wall times in `timezone`), " +
	"then RFC 1123 (`Sun, 29 Mar 2026 10:00:00 GMT`), then Unix seconds. `rfc3339`, `rfc1123`, `unix` and " +
	"`unixMs` accept only that form. Anything else is a layout (below).\n" +
	"- `format` (default `rfc3339`): how the result is written: `rfc3339` (`2026-03-29T12:00:00+02:00`, fractions " +
	"only when not zero), `rfc3339ms` (always `.000`), `rfc1123` (HTTP date, in GMT), `date` (`2026-03-29`), " +
	"`unix` and `unixMs` (numbers), `object` (below), or a layout.\n" +
	"- `timezone` (default `UTC`): the IANA zone, such as `Europe/Paris`, in which wall times without an offset are " +
	"read, results are written and calendar units are counted. `Local` is refused: it would depend on the server.\n" +
	"- `duration` (add, subtract): compact `1y2mo3w4d5h6m7s8ms` (any subset, in any order, spaces allowed, also " +
	"`2 days 4 hours`, `90m`, `1.5h`) or ISO 8601 `P1Y2M3W4DT5H6M7.5S`; a leading `-` negates it. Years, months, " +
	"weeks and days are whole numbers.\n" +
	"- `unit` (diff, startOf, endOf): `year`, `month`, `week`, `day`, `hour`, `minute`, `second` (and `millisecond` for diff).\n" +
	"- `weekStartsOn` (default `monday`): `monday` (ISO weeks) or `sunday`.\n\n" +
	"### Layouts\n\n" +
	"A layout holding a digit is a Go reference layout (`02/01/2006 15:04`, `2006-01-02T15:04:05Z07:00`). Any " +
	"other is a token layout: `YYYY` (2026), `YY` (26; 69–99 read as 19xx), `MMMM` (March), `MMM` (Mar), `MM` (03), " +
	"`M` (3), `DD` (09), `D` (9), `dddd` (Sunday), `ddd` (Sun), `HH` (07), `H` (7), `hh` / `h` (12-hour), `mm` / `m` " +
	"(minutes), `ss` / `s` (seconds), `SSS` (milliseconds, after a `.` or `,`), `A` / `a` (AM / am), `Z` " +
	"(`+02:00`, or `Z` when reading), `ZZ` (`+0200`). Text in `[brackets]` is literal, as is any other character " +
	"(`YYYY-MM-DDTHH:mm` reads `2026-03-29T12:00`). When reading, one- or two-digit numbers are accepted for the " +
	"two-letter tokens, names in any case, and parts a layout lacks default to 1970-01-01 00:00:00.\n\n" +
	"### Daylight saving\n\n" +
	"- A wall time that does not exist, in the gap when clocks go forward, moves forward by the gap: in " +
	"`Europe/Paris`, `2026-03-29 02:30` is `2026-03-29T03:30:00+02:00`.\n" +
	"- A wall time that exists twice, when clocks go back, is the earlier one: `2026-10-25 02:30` in " +
	"`Europe/Paris` is `2026-10-25T02:30:00+02:00` (summer time), not `+01:00`.\n" +
	"- Calendar units keep the wall time: `2026-03-28T12:00:00+01:00` plus `1d` is `2026-03-29T12:00:00+02:00`, " +
	"23 hours later; plus `24h` is `2026-03-29T13:00:00+02:00`. The day of 2026-03-29 lasts 23 hours and " +
	"`startOf`/`endOf day` give `00:00:00+01:00` and `23:59:59.999+02:00`; 2026-10-25 lasts 25 hours.\n" +
	"- Adding months clamps to the end of the month: January 31 plus `1mo` is February 28 (29 in a leap year).\n\n" +
	"## Output\n\n" +
	"The resulting date written in `format` (a string, or a number for `unix` and `unixMs`), in `timezone`; " +
	"`diff` outputs a number. With `format: object` the output is\n" +
	"`{iso, unix, unixMs, year, month, day, hour, minute, second, millisecond, weekday (1 = Monday … 7 = Sunday), " +
	"weekdayName, dayOfYear, timezone, offset}`.\n\n" +
	"`diff` counts whole units, truncated toward zero, negative when `to` is before `date`: days, weeks, months and " +
	"years are calendar units in `timezone` (January 31 to February 28 is one month; 2026-03-28 12:00 to " +
	"2026-03-29 12:00 in Paris is one day although 23 hours long), the others elapsed time.\n\n" +
	"## Limits\n\n" +
	"Dates must fall in the years 1 to 9999. Dates and layouts are at most 256 characters, durations 128, and " +
	"their parts at most 1,000,000 years, months, weeks or days and 200 years of hours, minutes and seconds.\n\n" +
	"## Errors\n\n" +
	"- `invalid_date`: a date that does not match the input format " +
	"(`date: \"30/02/2026\" does not match DD/MM/YYYY: day 30 is out of range for February 2026`).\n" +
	"- `invalid_input`: no date at all, or a date of the wrong kind (an array, a boolean).\n" +
	"- `out_of_range`: a date or a result outside the years 1 to 9999.\n" +
	"- `invalid_config`: an unknown time zone, a layout without tokens, a duration that does not parse, a missing " +
	"`duration`, `to` or `unit` (also when computed by an expression at run time).\n\n" +
	"## Example\n\n" +
	"```json\n{\"operation\": \"add\", \"date\": \"2026-03-28T12:00:00+01:00\", \"duration\": \"1d\", \"timezone\": \"Europe/Paris\"}\n```\n\n" +
	"outputs `\"2026-03-29T12:00:00+02:00\"`.\n\n" +
	"```json\n{\"operation\": \"format\", \"date\": \"{{ input.paidAt }}\", \"timezone\": \"America/New_York\", \"format\": \"dddd D MMMM YYYY, h:mm A\"}\n```\n\n" +
	"with `paidAt` `1774778400` (Unix seconds) outputs `\"Sunday 29 March 2026, 6:00 AM\"`.\n\n" +
	"```json\n{\"operation\": \"diff\", \"date\": \"2026-01-31\", \"to\": \"2026-03-30\", \"unit\": \"month\"}\n```\n\n" +
	"outputs `1`.\n"
