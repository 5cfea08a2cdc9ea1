"""Data structures shared by protocols (org.jgroups.util)."""
