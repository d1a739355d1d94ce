package bot

// Parse parses the text after "/incident" into a Command. Malformed input
// returns an *Error with code EINVALID whose message names what was wrong
// and shows the usage of the command (or the whole help for an unknown verb).
func Parse(text string) (Command, error) {
	panic("TODO")
}
