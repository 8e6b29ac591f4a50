package testutil

// QuietLogger drops every log line; it satisfies vectordb.Logger and
// the loggers of the internal packages (storage, janitor, transfer).
type QuietLogger struct{}

func (QuietLogger) Errorf(string, ...any)   {}
func (QuietLogger) Warningf(string, ...any) {}
func (QuietLogger) Infof(string, ...any)    {}
func (QuietLogger) Debugf(string, ...any)   {}
