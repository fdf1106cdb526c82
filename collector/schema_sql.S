/* schema_sql.S — links schema/schema.sql into the collector as a C string,
 * so the binary needs no file beside it to create its database. */
    .section .rodata
    .global schema_sql
    .type schema_sql, @object
schema_sql:
    .incbin SCHEMA_PATH
    .byte 0
    .section .note.GNU-stack,"",@progbits
