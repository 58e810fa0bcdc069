package hostagent

import "log/syslog"

// toSyslog writes one line to syslog, best effort.
func toSyslog(msg string) {
	if w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_NOTICE, SyslogTag); err == nil {
		_ = w.Notice(msg)
		w.Close()
	}
}
