package apikey

import (
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestNewKeysParseBack(t *testing.T) {
	seen := map[string]bool{}
	for _, kind := range []tryon.KeyKind{tryon.KeyLive, tryon.KeyTest, tryon.KeyAdmin} {
		for range 50 {
			k, err := New(kind)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(k.Secret, "tryon_"+string(kind)+"_") {
				t.Fatalf("key %q lacks its prefix", k.Secret)
			}
			if seen[k.Secret] {
				t.Fatalf("duplicate key %q", k.Secret)
			}
			seen[k.Secret] = true
			got, err := Parse(k.Secret)
			if err != nil {
				t.Fatalf("Parse(%q): %v", k.Secret, err)
			}
			if got != k {
				t.Fatalf("got %+v, want %+v", got, k)
			}
			if !strings.HasPrefix(k.Secret, k.Prefix()) || len(k.Prefix()) != len("tryon_"+string(kind)+"_")+prefixShown {
				t.Fatalf("prefix %q of %q", k.Prefix(), k.Secret)
			}
		}
	}
}

func TestParseRefusesMalformedKeys(t *testing.T) {
	good, err := New(tryon.KeyLive)
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(good.Secret)
	if flipped[20] == 'a' {
		flipped[20] = 'b'
	} else {
		flipped[20] = 'a'
	}
	cases := map[string]string{
		"Empty":          "",
		"NoPrefix":       strings.TrimPrefix(good.Secret, "tryon_"),
		"UnknownKind":    strings.Replace(good.Secret, "_live_", "_prod_", 1),
		"Short":          good.Secret[:len(good.Secret)-1],
		"Long":           good.Secret + "a",
		"BadCharacter":   good.Secret[:15] + "-" + good.Secret[16:],
		"TypoInRandom":   string(flipped),
		"WrongChecksum":  good.Secret[:len(good.Secret)-6] + "000000",
		"OtherKindSwap":  strings.Replace(good.Secret, "_live_", "_test_", 1),
		"TrailingSpace":  good.Secret + " ",
		"UpperCasedKind": strings.Replace(good.Secret, "_live_", "_LIVE_", 1),
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(s); err != ErrMalformed {
				t.Fatalf("Parse(%q) = %v, want ErrMalformed", s, err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	k, _ := New(tryon.KeyTest)
	f.Add(k.Secret)
	f.Add("tryon_live_")
	f.Add("tryon_admin_" + strings.Repeat("z", 49))
	f.Fuzz(func(t *testing.T, s string) {
		key, err := Parse(s)
		if err != nil {
			return
		}
		// Whatever parses must round-trip and carry a valid kind and checksum.
		if key.Secret != s || !key.Kind.Valid() || checksum(s[:len(s)-checksumLen]) != s[len(s)-checksumLen:] {
			t.Fatalf("Parse(%q) accepted an inconsistent key %+v", s, key)
		}
	})
}
