package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// healthcheckTimeout bounds `debrief healthcheck`: Docker's HEALTHCHECK
// gives a probe 30 s by default, and a server that takes longer to say it
// is fine is not.
const healthcheckTimeout = 5 * time.Second

// healthcheck asks the server on DEBRIEF_ADDR for GET /healthz and fails
// unless it answers 200. It exists for the Dockerfile's HEALTHCHECK: the
// distroless image has no shell or curl to probe with.
func healthcheck(ctx context.Context, cfg Config, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	url := "http://" + dialAddr(cfg.Addr) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	msg := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s: %s", url, resp.Status, msg)
	}
	_, err = fmt.Fprintf(stdout, "%s: %s\n", url, msg)
	return err
}
