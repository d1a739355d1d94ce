package workflows

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
	"github.com/debrief/debrief/workflows/outbox"
)

// nearMissVerbs record near misses: nearmiss, from any channel. Promotion
// is declare --from NM-n (declareFrom).
var nearMissVerbs = verbs{
	bot.VerbNearMiss: {global: func(s *Service, ctx context.Context, actor bot.User, ch bot.Channel, cmd bot.Command) (Reply, error) {
		nm, _, err := s.RecordNearMiss(ctx, store.NearMiss{
			Text: cmd.Text, Tags: cmd.Tags, Reporter: actor, Channel: ch,
		})
		if err != nil {
			return Reply{}, err
		}
		// For the caller only: the channel gets the near miss's note, with
		// its Declare button (RecordNearMiss).
		return Reply{Text: fmt.Sprintf("Recorded near miss %s. Thank you: small signals count. Declare it if it grows: /incident declare --from %s", nm.ID, nm.ID),
			Ephemeral: true}, nil
	}},
}

// RecordNearMiss records nm (Text, Tags, Reporter, Channel; for a marked
// message also Author, At, Permalink and Source) with the next number, and
// posts a note with a Declare button in nm.Channel. A near miss whose
// Source was recorded before is not recorded again: it is returned with
// dup true.
func (s *Service) RecordNearMiss(ctx context.Context, nm store.NearMiss) (store.NearMiss, bool, error) {
	now := s.now()
	nm.Text = bot.DefuseTimes(nm.Text)
	if strings.TrimSpace(nm.Text) == "" {
		return store.NearMiss{}, false, bot.Errorf(bot.EINVALID, "A near miss needs a text: say what almost went wrong.")
	}
	if n := utf8.RuneCountInString(nm.Text); n > bot.MaxNearMiss {
		nm.Text = string([]rune(nm.Text)[:bot.MaxNearMiss]) + "…"
	}
	dup := false
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		all, err := tx.NearMisses()
		if err != nil {
			return fmt.Errorf("workflows: near misses: %w", err)
		}
		if nm.Source != "" {
			for _, old := range all {
				if old.Source == nm.Source {
					nm, dup = old, true
					return nil
				}
			}
		}
		nm.Number = len(all) + 1
		nm.ID = store.NearMissID(nm.Number)
		nm.RecordedAt = now
		if nm.At.IsZero() {
			nm.At = now
		}
		if err := tx.PutNearMiss(nm); err != nil {
			return fmt.Errorf("workflows: near miss: %w", err)
		}
		text := fmt.Sprintf("Near miss %s recorded by %s: %s", nm.ID, nm.Reporter.Display(), headline(nm.Text, 200))
		_, err = s.Outbox().Enqueue(tx, outbox.Route{Platform: nm.Channel.Platform, ChannelID: nm.Channel.ID, Key: "nearmiss/" + nm.ID},
			PostButton{Text: text, Label: "Declare", Command: "declare --from " + nm.ID}, now)
		return err
	})
	if err != nil {
		return store.NearMiss{}, false, err
	}
	if !dup {
		s.kick()
	}
	return nm, dup, nil
}

// NearMisses returns every near miss, oldest first.
func (s *Service) NearMisses(ctx context.Context) ([]store.NearMiss, error) {
	var out []store.NearMiss
	err := s.Store.View(ctx, func(tx store.ReadTx) error {
		var err error
		out, err = tx.NearMisses()
		return err
	})
	return out, err
}

// declareFrom opens an incident from a near miss (NM-n) or a suggested
// alert group (AL-…), keeping its text and its times: started and
// detected are the near miss's time, or the group's first startsAt and
// arrival.
func (s *Service) declareFrom(ctx context.Context, actor bot.User, ch bot.Channel, cmd bot.Command) (Reply, error) {
	now := s.now()
	commander := actor
	if len(cmd.Users) > 0 {
		commander = cmd.Users[0]
	}
	var inc *bot.Incident
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if strings.HasPrefix(cmd.From, "NM-") {
			inc, err = s.promote(tx, actor, ch, cmd, commander, now)
		} else {
			inc, err = s.declareGroup(tx, actor, ch, cmd, commander, now)
		}
		return err
	})
	if err != nil {
		return Reply{}, err
	}
	s.kick()
	return declared(inc, actor, commander), nil
}

func (s *Service) promote(tx store.Tx, actor bot.User, ch bot.Channel, cmd bot.Command, commander bot.User, now time.Time) (*bot.Incident, error) {
	all, err := tx.NearMisses()
	if err != nil {
		return nil, fmt.Errorf("workflows: near misses: %w", err)
	}
	var nm *store.NearMiss
	for i := range all {
		if all[i].ID == cmd.From {
			nm = &all[i]
		}
	}
	if nm == nil {
		return nil, bot.Errorf(bot.ENOTFOUND, "There is no near miss %s.", cmd.From)
	}
	if nm.IncidentID != "" {
		return nil, bot.Errorf(bot.ECONFLICT, "%s was already declared as %s.", nm.ID, nm.IncidentID)
	}
	if cmd.Text == "" {
		cmd.Text = headline(nm.Text, bot.MaxTitle)
	}
	if len(cmd.Tags) == 0 {
		cmd.Tags = nm.Tags
	}
	author := nm.Author
	if author.IsZero() {
		author = nm.Reporter
	}
	seed := bot.TimelineEvent{
		Kind: bot.EventMessage, Author: author, Text: fmt.Sprintf("near miss %s: %s", nm.ID, nm.Text),
		URL: nm.Permalink, PlatformAt: nm.At, RecordedAt: nm.At, DedupeKey: "nearmiss/" + nm.ID,
	}
	inc, err := s.open(tx, actor, ch, cmd, opening{commander: commander, started: nm.At, detected: nm.At, seed: []bot.TimelineEvent{seed}}, now)
	if err != nil {
		return nil, err
	}
	nm.IncidentID = inc.ID
	if err := tx.PutNearMiss(*nm); err != nil {
		return nil, fmt.Errorf("workflows: promote %s: %w", nm.ID, err)
	}
	return inc, nil
}

// headline is the first line of s, at most max characters.
func headline(s string, max int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	return s
}
