// Shared by the interop scripts: loads our compiled proto/ descriptors at run
// time (no code generation), so connect-es sees exactly our schema.
import { readFileSync } from "node:fs";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

export function loadRegistry(path) {
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(path)));
}
