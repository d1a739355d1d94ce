package httpapi

import (
	"net/http"
	"time"

	"github.com/debrief/debrief/store"
)

// signalWindow is the window of fired_30d.
const signalWindow = 30 * 24 * time.Hour

type nearMissList struct {
	NearMisses []store.NearMiss `json:"near_misses"`
}

type signalJSON struct {
	Key         string            `json:"key"`
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Count       int               `json:"count"`
	Fired30d    int               `json:"fired_30d"`
	FirstAt     time.Time         `json:"first_at"`
	LastAt      time.Time         `json:"last_at"`
	Declared    bool              `json:"declared"`
	IncidentIDs []string          `json:"incident_ids,omitempty"`
}

type signalList struct {
	Signals []signalJSON `json:"signals"`
}

// nearMisses serves GET /api/nearmisses: every near miss, oldest first.
func (s *Server) nearMisses(w http.ResponseWriter, r *http.Request) {
	nms, err := s.Service.NearMisses(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := nearMissList{NearMisses: make([]store.NearMiss, len(nms))}
	for i, nm := range nms {
		nm.Source = "" // bookkeeping; the permalink says where
		out.NearMisses[i] = nm
	}
	writeJSON(w, http.StatusOK, out)
}

// signals serves GET /api/signals: every alert counted, most fired first.
func (s *Server) signals(w http.ResponseWriter, r *http.Request) {
	sigs, err := s.Service.Signals(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := time.Now
	if s.Service.Now != nil {
		now = s.Service.Now
	}
	since := now().Add(-signalWindow)
	out := signalList{Signals: make([]signalJSON, len(sigs))}
	for i, sg := range sigs {
		n := 0
		for _, at := range sg.Fires {
			if !at.Before(since) {
				n++
			}
		}
		out.Signals[i] = signalJSON{
			Key: sg.Key, Name: sg.Name, Labels: sg.Labels, Count: sg.Count, Fired30d: n,
			FirstAt: sg.FirstAt, LastAt: sg.LastAt, Declared: len(sg.IncidentIDs) > 0, IncidentIDs: sg.IncidentIDs,
		}
	}
	writeJSON(w, http.StatusOK, out)
}
