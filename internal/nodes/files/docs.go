package files

// confinement is the part every file node's documentation shares.
const confinement = "Every path is relative to the files directory, `CM_FILES_DIR` (default `./data/files`, created " +
	"with mode 0700 the first time a file node runs). The directory is opened as a Go `os.Root`, so no path can " +
	"leave it: `..` and absolute paths are refused before the node runs, and a symbolic link inside the directory " +
	"that points outside it (or is absolute) is refused by the operating system interface when it is followed. " +
	"Paths use `/`, are at most 1024 bytes, and may not hold NUL bytes or `\\`."

const readDocs = "Reads one file from the files directory.\n\n" + confinement + "\n\n" +
	"## Configuration\n\n" +
	"- `path`: the file, such as `reports/2026-03.csv` or `{{ input.fileName }}`.\n" +
	"- `encoding` (default `text`): `text` returns the content as a string (the file must be UTF-8), `base64` " +
	"returns any bytes as standard base64, `json` parses the file and returns the value.\n\n" +
	"## Output\n\n" +
	"`{\"path\", \"size\", \"modifiedAt\", \"content\"}`: the cleaned relative path, the size in bytes, the " +
	"modification time (RFC 3339, UTC) and the content.\n\n" +
	"## Limits\n\n" +
	"A file is read only when its size fits both `CM_FILES_MAX_BYTES` (default 64 MiB) and the output cap " +
	"`CM_MAX_OUTPUT_BYTES` (three quarters of it for base64); the size is checked before reading, and the read stops " +
	"one byte past the limit if the file grows meanwhile. What is read is charged to the execution's memory budget " +
	"first (four times the size for json). Directories, devices, pipes and sockets are refused without being opened.\n\n" +
	"## Errors\n\n" +
	"- `invalid_path`: `..`, an absolute path, or a symbolic link leading outside the directory.\n" +
	"- `not_found`, `is_directory`, `not_directory` (a part of the path is a file), `not_regular_file`, `permission_denied`.\n" +
	"- `file_too_large`: over the limits above, naming the setting that applies.\n" +
	"- `not_text`: not UTF-8 with encoding text (read it as base64); `invalid_json`: not JSON with encoding json, with the byte offset.\n" +
	"- `budget_exceeded`: the content does not fit in the execution's memory budget.\n\n" +
	"## Example\n\n" +
	"```json\n{\"path\": \"config/prices.json\", \"encoding\": \"json\"}\n```\n\n" +
	"outputs\n\n" +
	"```json\n{\"path\": \"config/prices.json\", \"size\": 27, \"modifiedAt\": \"2026-03-29T10:00:00Z\", \"content\": {\"apple\": 1.2, \"pear\": 0.9}}\n```\n"

const writeDocs = "Writes one file in the files directory.\n\n" + confinement + "\n\n" +
	"## Configuration\n\n" +
	"- `path`: the file, such as `exports/orders-{{ execution.id }}.csv`.\n" +
	"- `content`: what to write.\n" +
	"- `encoding` (default `text`): `text` writes a string as it is; `base64` decodes a base64 string (padded or " +
	"not) and writes the bytes; `json` writes any value as JSON indented by two spaces, with a final line break.\n" +
	"- `mode` (default `overwrite`): `overwrite` writes a temporary file beside the target and renames it over it, " +
	"so that a reader sees the old content or the new, never a part (a symbolic link at the path is replaced by " +
	"the file, its target untouched); `append` adds to the end of the file, creating it when missing; `create` " +
	"fails when the file exists.\n" +
	"- `createDirs` (default `false`): create missing parent directories (mode 0700); without it a missing parent is `not_found`.\n\n" +
	"Files are created with mode 0600.\n\n" +
	"## Output\n\n" +
	"`{\"path\", \"size\"}`: the cleaned relative path and the file's size in bytes after writing.\n\n" +
	"## Limits\n\n" +
	"The content, and with `append` the file it grows, may be at most `CM_FILES_MAX_BYTES` (default 64 MiB); the " +
	"size is checked before anything is written. JSON content is sized, and charged to the execution's memory " +
	"budget, before it is encoded.\n\n" +
	"## Errors\n\n" +
	"- `invalid_path`: `..`, an absolute path, or a symbolic link leading outside the directory.\n" +
	"- `file_exists` (mode create), `is_directory`, `not_found` (a missing parent without `createDirs`), `not_directory`, `not_regular_file`, `permission_denied`.\n" +
	"- `invalid_content`: a content that is not a string with encoding text or base64, or not valid base64.\n" +
	"- `file_too_large`: over the limit above.\n\n" +
	"## Example\n\n" +
	"```json\n{\"path\": \"exports/orders.csv\", \"content\": \"{{ nodes.to_csv.output }}\", \"createDirs\": true}\n```\n\n" +
	"outputs `{\"path\": \"exports/orders.csv\", \"size\": 1234}`.\n"

const listDocs = "Lists a directory of the files directory.\n\n" + confinement + "\n\n" +
	"## Configuration\n\n" +
	"- `path` (default: the files directory itself): the directory to list.\n" +
	"- `pattern`: keep only entries whose name matches this glob (Go's `path.Match`): `*` any run of characters, " +
	"`?` one character, `[a-z]` a class, `\\\\*` a literal star. Directories are still descended into when they do not match.\n" +
	"- `recursive` (default `false`): list subdirectories too, breadth first, up to 64 levels. Symbolic links are " +
	"listed as entries and never followed, so a link to a directory (inside or outside) is not descended into.\n" +
	"- `limit` (default 1000, at most 10000): the most entries returned.\n\n" +
	"## Output\n\n" +
	"An array of `{\"path\", \"name\", \"size\", \"isDir\", \"modifiedAt\"}` sorted by path: the path relative to " +
	"the files directory (ready for file.read), the name, the size in bytes (0 for directories), whether it is a " +
	"directory and the modification time (RFC 3339, UTC). When more entries match than `limit`, the listing stops " +
	"there and which entries are kept follows the order in which the file system returns them.\n\n" +
	"## Limits\n\n" +
	"At most 10000 entries returned, 100000 entries looked at (a larger tree fails with `too_many_entries` rather " +
	"than scanning on), 64 levels; directories are read 256 entries at a time, so a directory of a million " +
	"files is never loaded whole; a timeout or a cancel stops the listing within 256 entries.\n\n" +
	"## Errors\n\n" +
	"- `invalid_path`: `..`, an absolute path, or a symbolic link leading outside the directory.\n" +
	"- `not_found`, `not_directory` (the path is a file), `permission_denied`.\n" +
	"- `too_many_entries`: the limit of entries looked at above.\n" +
	"- `invalid_config`: a pattern that is not a valid glob.\n\n" +
	"## Example\n\n" +
	"```json\n{\"path\": \"exports\", \"pattern\": \"*.csv\"}\n```\n\n" +
	"outputs\n\n" +
	"```json\n[{\"path\": \"exports/a.csv\", \"name\": \"a.csv\", \"size\": 120, \"isDir\": false, \"modifiedAt\": \"2026-03-29T10:00:00Z\"}]\n```\n"
