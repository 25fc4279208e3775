package postgres

// GenerationColumns exposes the columns lists select, so that a test can
// hold tryon_generation to the same row.
const GenerationColumns = generationColumns

// ScanGeneration exposes scanGeneration for the same test.
var ScanGeneration = scanGeneration
