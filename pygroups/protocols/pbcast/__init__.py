"""pbcast: NAKACK2, STABLE, GMS (org.jgroups.protocols.pbcast)."""
