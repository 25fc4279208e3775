package config

import (
	"strings"
	"testing"
	"time"
)

func base() map[string]string {
	return map[string]string{"DATABASE_URL": "postgres://localhost/x", "PROVIDER_BANANA": "fake",
		"PROVIDER_BANANA_PRO": "fake", "PROVIDER_VEO3": "fake"}
}

func TestLoadAppliesDefaultsAndValues(t *testing.T) {
	m := base()
	m["KEY_CACHE_TTL"] = "45s"
	m["CORS_ALLOWED_ORIGINS"] = "https://a.example,https://b.example"
	m["PRICE_BANANA_MICROS"] = "55000"
	m["BUDGET_MARGIN"] = "" // empty counts as unset
	cfg, err := Load(Map(m))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.KeyCacheTTL != 45*time.Second || cfg.BudgetMargin != 10*time.Second {
		t.Fatalf("durations: %+v", cfg)
	}
	if len(cfg.CORSOrigins) != 2 || cfg.CORSOrigins[1] != "https://b.example" || cfg.PriceBanana != 55000 {
		t.Fatalf("values: %+v", cfg)
	}
}

func TestLoadNamesTheVariableAtFault(t *testing.T) {
	cases := map[string]struct {
		set  map[string]string
		want string
	}{
		"MissingDatabaseURL":  {map[string]string{"DATABASE_URL": ""}, "DATABASE_URL is required"},
		"UnparsableDuration":  {map[string]string{"KEY_CACHE_TTL": "soon"}, "KEY_CACHE_TTL is invalid"},
		"CacheTTLOverAMinute": {map[string]string{"KEY_CACHE_TTL": "2m"}, "KEY_CACHE_TTL must be"},
		"UnknownProvider":     {map[string]string{"PROVIDER_BANANA": "dalle"}, "PROVIDER_BANANA must be"},
		"GeminiWithoutKey":    {map[string]string{"PROVIDER_BANANA": "gemini"}, "GEMINI_API_KEY is required"},
		"FalWithoutKey":       {map[string]string{"PROVIDER_BANANA_PRO": "fal"}, "FAL_KEY is required"},
		"FalForVideo":         {map[string]string{"PROVIDER_VEO3": "fal", "FAL_KEY": "k"}, "PROVIDER_VEO3 must be"},
		"BlobWithoutToken":    {map[string]string{"STORAGE": "blob"}, "BLOB_READ_WRITE_TOKEN is required"},
		"RelativeBaseURL":     {map[string]string{"PUBLIC_BASE_URL": "/x"}, "PUBLIC_BASE_URL must be"},
		"BadOrigin":           {map[string]string{"CORS_ALLOWED_ORIGINS": "shop.example"}, "CORS_ALLOWED_ORIGINS must"},
		"NotAnInteger":        {map[string]string{"DB_MAX_CONNS": "four"}, "DB_MAX_CONNS is invalid"},
		"NegativeMargin":      {map[string]string{"BUDGET_MARGIN": "-1s"}, "BUDGET_MARGIN must not be negative"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := base()
			for k, v := range tc.set {
				m[k] = v
			}
			_, err := Load(Map(m))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadNeverReadsTheProcessEnvironment(t *testing.T) {
	t.Setenv("KEY_CACHE_TTL", "5s")
	cfg, err := Load(Map(base()))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.KeyCacheTTL != 30*time.Second {
		t.Fatalf("KEY_CACHE_TTL = %s: the process environment leaked in", cfg.KeyCacheTTL)
	}
}
