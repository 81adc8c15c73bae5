package main

import (
	"github.com/spf13/cobra"

	"github.com/connfactory/connfactory/schema"
)

func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the configuration's JSON Schema",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := schema.JSONSchema()
			if err != nil {
				cmd.PrintErrln("connfactory:", err)
				return exitError{exitFailed}
			}
			_, _ = cmd.OutOrStdout().Write(b)
			return nil
		},
	}
}
