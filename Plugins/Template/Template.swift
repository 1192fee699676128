import FSKit
