"""Stand-ins for the servers discovery talks to, for tests: a Kubernetes API server (`kubeapi.KubeApiServer`,
with its label selectors in `labels` and its certificate authority in `tlsca`) and a DNS server
(`dnsserver.DnsServer`). Real threads and sockets: import the module you need (nothing is imported here)."""
