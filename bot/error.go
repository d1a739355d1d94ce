package bot

import (
	"errors"
	"fmt"
)

// Error codes. Adapters map them to answers: chat shows Message, HTTP maps the
// code to a status.
const (
	EINVALID   = "invalid"   // malformed input; Message carries usage help
	ENOTFOUND  = "not_found" // unknown incident, channel or countermeasure
	ECONFLICT  = "conflict"  // the lifecycle refuses the step in this state
	EFORBIDDEN = "forbidden" // the actor may not do this
	EINTERNAL  = "internal"  // anything else; never shown to users in detail
)

// Error is an error whose Message is safe to show to the person who caused it.
// Anything that is not an *Error is internal: users see "internal error" and
// the details go to the log.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("bot: %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with a formatted user-facing message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	}
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err. Errors that are not an
// *Error are internal and their text never reaches the user.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	}
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error: the operators have the details in the log."
}
