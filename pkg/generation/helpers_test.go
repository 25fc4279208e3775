package generation_test

import "github.com/tryonhq/tryon/pkg/apikey"

func apikeyParse(s string) ([32]byte, error) {
	k, err := apikey.Parse(s)
	if err != nil {
		return [32]byte{}, err
	}
	return k.Digest(), nil
}
