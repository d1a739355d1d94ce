package alerts

import (
	"fmt"
	"os"
	"strings"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/workflows"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
)

// Rule is one line of DEBRIEF_ALERT_RULES: an action and the matchers an
// alert's labels must all satisfy, in Alertmanager's matcher syntax.
type Rule struct {
	Action   workflows.AlertAction
	Matchers labels.Matchers
}

// Rules are tried in order; the first whose matchers all match decides.
type Rules []Rule

// DefaultRules is what runs without DEBRIEF_ALERT_RULES: every alert is a
// signal, counted and never more.
var DefaultRules = Rules{{Action: workflows.AlertSignal}}

// ParseRules reads rules separated by ';', each "action: matcher, ...",
// for example `declare: severity="critical"; signal: severity=~"warning|info"`.
// The matchers are parsed by Alertmanager's labels package. A value
// starting with '@' names a file holding the rules (lines may then also
// separate them; # starts a comment line).
func ParseRules(s string) (Rules, error) {
	if path, ok := strings.CutPrefix(strings.TrimSpace(s), "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read rules: %w", err)
		}
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		s = strings.Join(lines, ";")
	}
	var rules Rules
	for i, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, ms, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("rule %d %q: want <action>: <matchers>", i+1, part)
		}
		action, ok := workflows.ParseAlertAction(name)
		if !ok {
			return nil, fmt.Errorf("rule %d %q: unknown action %q: declare, suggest, signal or ignore", i+1, part, strings.TrimSpace(name))
		}
		var matchers labels.Matchers
		if strings.TrimSpace(ms) != "" {
			parsed, err := labels.ParseMatchers(ms)
			if err != nil {
				return nil, fmt.Errorf("rule %d %q: %w", i+1, part, err)
			}
			matchers = parsed
		}
		rules = append(rules, Rule{Action: action, Matchers: matchers})
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("no rules")
	}
	return rules, nil
}

// Action is what the first matching rule says about an alert with lbls;
// ignore when none matches.
func (rs Rules) Action(lbls map[string]string) workflows.AlertAction {
	set := make(model.LabelSet, len(lbls))
	for k, v := range lbls {
		set[model.LabelName(k)] = model.LabelValue(v)
	}
	for _, r := range rs {
		if r.Matchers.Matches(set) {
			return r.Action
		}
	}
	return workflows.AlertIgnore
}

// DefaultSeverities maps the severity label to debrief's severities.
var DefaultSeverities = map[string]bot.Severity{
	"critical": bot.SEV1, "error": bot.SEV2, "warning": bot.SEV3, "info": bot.SEV4,
}

// ParseSeverities reads "critical=SEV1,error=SEV2".
func ParseSeverities(s string) (map[string]bot.Severity, error) {
	out := map[string]bot.Severity{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		sev, valid := bot.ParseSeverity(strings.TrimSpace(v))
		if !ok || !valid || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%q: want <label value>=SEV1..SEV4", kv)
		}
		out[strings.ToLower(strings.TrimSpace(k))] = sev
	}
	return out, nil
}
