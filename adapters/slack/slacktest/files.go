package slacktest

import "net/url"

// DelayShares makes the files shared from now on show in files.info
// without their share for the first n answers, as Slack does while it
// processes a share: files.completeUploadExternal answers before the
// message that shares the file is posted, and Slack's advice is to poll
// files.info until the share appears
// (https://github.com/slackapi/python-slack-sdk/issues/1277).
func (s *Server) DelayShares(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shareDelay = n
}

// filesInfo answers files.info with the file object as Slack shows it,
// shares included: each channel it was shared in, under "public" or
// "private" (private channels and DMs), maps to the messages that share
// it, with their ts. https://docs.slack.dev/reference/methods/files.info
// and https://docs.slack.dev/reference/objects/file-object
func (s *Server) filesInfo(p params) (map[string]any, *apiError) {
	id := p.str("file")
	if f, ok := s.sharedFiles[id]; ok {
		return s.sharedFileInfo(f), nil
	}
	u, ok := s.uploads[id]
	if id == "" || !ok || !u.uploaded {
		return nil, fail("file_not_found")
	}
	file := map[string]any{
		"id": id, "name": u.name, "title": u.name, "size": u.size, "user": s.BotUserID,
		"mimetype": "text/plain", "filetype": "text", "is_external": false, "is_public": false,
		"permalink":      "https://fake.slack.com/files/" + s.BotUserID + "/" + id + "/" + url.PathEscape(u.name),
		"channels":       []string{},
		"groups":         []string{},
		"ims":            []string{},
		"comments_count": 0,
	}
	shares := map[string]any{}
	c, live := s.channels[u.channel]
	switch {
	case u.hidden > 0:
		u.hidden--
	case live && s.message(c.ID, u.ts) != nil:
		kind, list := "public", "channels"
		switch {
		case c.IM:
			kind, list = "private", "ims"
		case c.Private:
			kind, list = "private", "groups"
		}
		file["is_public"] = kind == "public"
		file[list] = []string{c.ID}
		shares[kind] = map[string]any{c.ID: []map[string]any{{
			"reply_users": []string{}, "reply_users_count": 0, "reply_count": 0,
			"ts": u.ts, "channel_name": c.Name, "team_id": s.TeamID,
		}}}
	}
	file["shares"] = shares
	return map[string]any{"file": file, "comments": []any{},
		"response_metadata": map[string]any{"next_cursor": ""}}, nil
}
