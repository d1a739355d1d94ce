package etcd

import (
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// ClientConfig says how to reach an existing etcd cluster.
type ClientConfig struct {
	// Endpoints is the comma-separated list of client URLs.
	Endpoints string
	// Cert, Key and CA are PEM files: the client certificate etcd's
	// --client-cert-auth expects, and the CA that signed the servers'
	// certificates. Any of them turns TLS on.
	Cert, Key, CA string
}

// NewClient connects to the cluster cc names.
func NewClient(cc ClientConfig) (*clientv3.Client, error) {
	var eps []string
	for _, e := range strings.Split(cc.Endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			eps = append(eps, e)
		}
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("etcd: no endpoints")
	}
	var tlsCfg *tls.Config
	if cc.Cert != "" || cc.Key != "" || cc.CA != "" {
		info := transport.TLSInfo{CertFile: cc.Cert, KeyFile: cc.Key, TrustedCAFile: cc.CA}
		var err error
		if tlsCfg, err = info.ClientConfig(); err != nil {
			return nil, fmt.Errorf("etcd: TLS: %w", err)
		}
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: eps, TLS: tlsCfg, DialTimeout: 5 * time.Second, Logger: nopLogger(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: connect %s: %w", cc.Endpoints, err)
	}
	return cli, nil
}

// nopLogger silences the client's zap logging: errors reach debrief's
// callers as return values, and debrief logs them with slog.
func nopLogger() *zap.Logger { return zap.NewNop() }
