package server

import "net/http"

// Auth is HTTP basic authentication with per-experiment permissions.
type Auth struct{}

// wrap returns h behind authentication.
func (a *Auth) wrap(s *Server, h http.Handler) http.Handler { return h }

// grantCreator gives the requesting user MANAGE on a new experiment.
func (a *Auth) grantCreator(r *http.Request, expID string) error { return nil }

// userOf returns the authenticated user of r, "" without auth.
func (a *Auth) userOf(r *http.Request) string { return "" }
