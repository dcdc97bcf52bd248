// Package all registers every architecture kiln knows; import it for its
// side effect: _ "github.com/kiln-ml/kiln/models/all".
package all

import (
	_ "github.com/kiln-ml/kiln/models/gemma2" // registers "gemma2"
	_ "github.com/kiln-ml/kiln/models/gemma3" // registers "gemma3"
	_ "github.com/kiln-ml/kiln/models/llama"  // registers "llama"
	_ "github.com/kiln-ml/kiln/models/phi3"   // registers "phi3"
	_ "github.com/kiln-ml/kiln/models/qwen2"  // registers "qwen2"
	_ "github.com/kiln-ml/kiln/models/qwen3"  // registers "qwen3"
)
