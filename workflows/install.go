package workflows

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/debrief/debrief/store"
)

// metaInstallID is the store key of the installation's ID.
const metaInstallID = "install_id"

// installID returns this installation's ID, creating it within tx the first
// time: 16 random bytes in hex, kept forever (debrief migrate copies meta
// with the rest). It makes what must be globally unique, an invite's UID
// (render.InviteUID), differ between installations, whose incident IDs all
// start at INC-1, and after a reset database, whose new ID is drawn afresh.
func installID(tx store.Tx) (string, error) {
	id, ok, err := tx.Meta(metaInstallID)
	if err != nil {
		return "", fmt.Errorf("workflows: install ID: %w", err)
	}
	if ok && id != "" {
		return id, nil
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("workflows: install ID: %w", err)
	}
	id = hex.EncodeToString(b[:])
	if err := tx.PutMeta(metaInstallID, id); err != nil {
		return "", fmt.Errorf("workflows: install ID: %w", err)
	}
	return id, nil
}
