package workflows

import (
	"context"
	"fmt"

	"github.com/debrief/debrief/bot"
	"github.com/debrief/debrief/store"
)

// prefsVerbs are what users tell the bot about themselves, anywhere.
var prefsVerbs = verbs{
	bot.VerbGithub: {global: (*Service).setPrefs},
	bot.VerbTZ:     {global: (*Service).setPrefs},
}

func (s *Service) setPrefs(ctx context.Context, actor bot.User, _ bot.Channel, cmd bot.Command) (Reply, error) {
	var text string
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		p, err := tx.UserPrefs(actor.Key())
		if err != nil {
			return fmt.Errorf("workflows: prefs %s: %w", actor.Key(), err)
		}
		p.Key = actor.Key()
		if cmd.Verb == bot.VerbTZ {
			p.Zone = cmd.Zone
			text = fmt.Sprintf("Your time zone is now %s; times are shown to you there.", cmd.Zone)
		} else {
			p.GitHub = cmd.Login
			text = fmt.Sprintf("You are @%s on GitHub; countermeasures you own are assigned to you there.", cmd.Login)
		}
		return tx.PutUserPrefs(p)
	})
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: text, Ephemeral: true}, nil
}
