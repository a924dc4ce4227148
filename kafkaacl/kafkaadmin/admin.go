// Package kafkaadmin is the Kafka side of package kafkaacl: it lists,
// creates and deletes ACL bindings and upserts, deletes and describes
// SCRAM-SHA-512 credentials through kafka-go's admin requests, translating
// between kafka-go's numeric enums and kafkaacl's bindings. It decides
// nothing.
package kafkaadmin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/segmentio/kafka-go"

	"yiku/kafkaacl"
)

// Admin implements kafkaacl.Admin on a kafka-go client that is allowed to
// alter and describe the cluster (the hub's super user).
type Admin struct {
	Client *kafka.Client
}

var _ kafkaacl.Admin = (*Admin)(nil)

var (
	resourceTypes = map[kafkaacl.ResourceType]kafka.ResourceType{
		kafkaacl.Topic: kafka.ResourceTypeTopic, kafkaacl.Group: kafka.ResourceTypeGroup,
		kafkaacl.Cluster: kafka.ResourceTypeCluster, kafkaacl.TransactionalID: kafka.ResourceTypeTransactionalID,
	}
	patterns   = map[kafkaacl.Pattern]kafka.PatternType{kafkaacl.Literal: kafka.PatternTypeLiteral, kafkaacl.Prefixed: kafka.PatternTypePrefixed}
	operations = map[kafkaacl.Operation]kafka.ACLOperationType{
		kafkaacl.All: kafka.ACLOperationTypeAll, kafkaacl.Read: kafka.ACLOperationTypeRead,
		kafkaacl.Write: kafka.ACLOperationTypeWrite, kafkaacl.Describe: kafka.ACLOperationTypeDescribe,
	}
	permissions = map[kafkaacl.Permission]kafka.ACLPermissionType{kafkaacl.Allow: kafka.ACLPermissionTypeAllow, kafkaacl.Deny: kafka.ACLPermissionTypeDeny}
)

// toBinding names kafka-go's enums; values kafkaacl has no name for keep
// a name of their number (or kafka-go's name for operations), so a
// binding the hub never creates is still listed and removed exactly.
func toBinding(r kafka.ACLResource, d kafka.ACLDescription) kafkaacl.Binding {
	b := kafkaacl.Binding{Principal: d.Principal, Name: r.ResourceName, Host: d.Host}
	b.Type = kafkaacl.ResourceType(fmt.Sprintf("type-%d", r.ResourceType))
	for k, v := range resourceTypes {
		if v == r.ResourceType {
			b.Type = k
		}
	}
	b.Pattern = kafkaacl.Pattern(fmt.Sprintf("pattern-%d", r.PatternType))
	for k, v := range patterns {
		if v == r.PatternType {
			b.Pattern = k
		}
	}
	// Operations kafkaacl has no constant for (create, alter, …) keep
	// kafka-go's name, which fromBinding parses back.
	b.Operation = kafkaacl.Operation(strings.ToLower(d.Operation.String()))
	b.Permission = kafkaacl.Permission(fmt.Sprintf("perm-%d", d.PermissionType))
	for k, v := range permissions {
		if v == d.PermissionType {
			b.Permission = k
		}
	}
	return b
}

// fromBinding returns kafka-go's enums for b; ok is false for names it
// does not know.
func fromBinding(b kafkaacl.Binding) (kafka.ResourceType, kafka.PatternType, kafka.ACLOperationType, kafka.ACLPermissionType, bool) {
	rt, ok1 := resourceTypes[b.Type]
	if !ok1 {
		ok1 = scanNumber(string(b.Type), "type-%d", (*int8)(&rt))
	}
	pt, ok2 := patterns[b.Pattern]
	if !ok2 {
		ok2 = scanNumber(string(b.Pattern), "pattern-%d", (*int8)(&pt))
	}
	op, ok3 := operations[b.Operation]
	if !ok3 {
		ok3 = op.UnmarshalText([]byte(b.Operation)) == nil && op != kafka.ACLOperationTypeUnknown
	}
	perm, ok4 := permissions[b.Permission]
	if !ok4 {
		ok4 = scanNumber(string(b.Permission), "perm-%d", (*int8)(&perm))
	}
	return rt, pt, op, perm, ok1 && ok2 && ok3 && ok4
}

func scanNumber(s, format string, v *int8) bool {
	_, err := fmt.Sscanf(s, format, v)
	return err == nil
}

// Bindings lists every ACL binding of the cluster.
func (a *Admin) Bindings(ctx context.Context) ([]kafkaacl.Binding, error) {
	resp, err := a.Client.DescribeACLs(ctx, &kafka.DescribeACLsRequest{Filter: kafka.ACLFilter{
		ResourceTypeFilter:        kafka.ResourceTypeAny,
		ResourcePatternTypeFilter: kafka.PatternTypeAny,
		Operation:                 kafka.ACLOperationTypeAny,
		PermissionType:            kafka.ACLPermissionTypeAny,
	}})
	if err != nil {
		return nil, fmt.Errorf("kafkaadmin: describe ACLs: %w", err)
	}
	if resp.Error != nil {
		return nil, wrap("describe ACLs", resp.Error)
	}
	var out []kafkaacl.Binding
	for _, r := range resp.Resources {
		for _, d := range r.ACLs {
			out = append(out, toBinding(r, d))
		}
	}
	kafkaacl.Sort(out)
	return out, nil
}

// CreateBindings creates bs.
func (a *Admin) CreateBindings(ctx context.Context, bs []kafkaacl.Binding) error {
	req := &kafka.CreateACLsRequest{}
	for _, b := range bs {
		rt, pt, op, perm, ok := fromBinding(b)
		if !ok {
			return fmt.Errorf("kafkaadmin: cannot express %v", b)
		}
		req.ACLs = append(req.ACLs, kafka.ACLEntry{ResourceType: rt, ResourceName: b.Name, ResourcePatternType: pt,
			Principal: b.Principal, Host: b.Host, Operation: op, PermissionType: perm})
	}
	resp, err := a.Client.CreateACLs(ctx, req)
	if err != nil {
		return fmt.Errorf("kafkaadmin: create ACLs: %w", err)
	}
	var errs []error
	for i, e := range resp.Errors {
		if e != nil {
			errs = append(errs, wrap(fmt.Sprintf("create %v", bs[min(i, len(bs)-1)]), e))
		}
	}
	return errors.Join(errs...)
}

// DeleteBindings deletes exactly bs (one exact filter each).
func (a *Admin) DeleteBindings(ctx context.Context, bs []kafkaacl.Binding) error {
	req := &kafka.DeleteACLsRequest{}
	for _, b := range bs {
		rt, pt, op, perm, ok := fromBinding(b)
		if !ok {
			return fmt.Errorf("kafkaadmin: cannot express %v", b)
		}
		req.Filters = append(req.Filters, kafka.DeleteACLsFilter{ResourceTypeFilter: rt, ResourceNameFilter: b.Name, ResourcePatternTypeFilter: pt,
			PrincipalFilter: b.Principal, HostFilter: b.Host, Operation: op, PermissionType: perm})
	}
	resp, err := a.Client.DeleteACLs(ctx, req)
	if err != nil {
		return fmt.Errorf("kafkaadmin: delete ACLs: %w", err)
	}
	var errs []error
	for i, r := range resp.Results {
		if r.Error != nil {
			errs = append(errs, wrap(fmt.Sprintf("delete %v", bs[min(i, len(bs)-1)]), r.Error))
		}
		for _, m := range r.MatchingACLs {
			if m.Error != nil {
				errs = append(errs, wrap("delete ACL", m.Error))
			}
		}
	}
	return errors.Join(errs...)
}

// UpsertSCRAM creates or replaces a SCRAM-SHA-512 credential.
func (a *Admin) UpsertSCRAM(ctx context.Context, c kafkaacl.SCRAM) error {
	resp, err := a.Client.AlterUserScramCredentials(ctx, &kafka.AlterUserScramCredentialsRequest{
		Upsertions: []kafka.UserScramCredentialsUpsertion{{Name: c.User, Mechanism: kafka.ScramMechanismSha512, Iterations: c.Iterations, Salt: c.Salt, SaltedPassword: c.SaltedPassword}},
	})
	if err != nil {
		return fmt.Errorf("kafkaadmin: upsert SCRAM credential %s: %w", c.User, err)
	}
	for _, r := range resp.Results {
		if r.Error != nil {
			return wrap("upsert SCRAM credential "+c.User, r.Error)
		}
	}
	return nil
}

// DeleteSCRAM deletes a user's SCRAM-SHA-512 credential; an unknown user
// is not an error.
func (a *Admin) DeleteSCRAM(ctx context.Context, user string) error {
	resp, err := a.Client.AlterUserScramCredentials(ctx, &kafka.AlterUserScramCredentialsRequest{
		Deletions: []kafka.UserScramCredentialsDeletion{{Name: user, Mechanism: kafka.ScramMechanismSha512}},
	})
	if err != nil {
		return fmt.Errorf("kafkaadmin: delete SCRAM credential %s: %w", user, err)
	}
	for _, r := range resp.Results {
		if r.Error != nil && !errors.Is(r.Error, kafka.ResourceNotFound) {
			return wrap("delete SCRAM credential "+user, r.Error)
		}
	}
	return nil
}

// SCRAMUsers says which of users have a SCRAM-SHA-512 credential.
func (a *Admin) SCRAMUsers(ctx context.Context, users []string) (map[string]bool, error) {
	out := make(map[string]bool, len(users))
	if len(users) == 0 {
		return out, nil
	}
	req := &kafka.DescribeUserScramCredentialsRequest{}
	for _, u := range users {
		req.Users = append(req.Users, kafka.UserScramCredentialsUser{Name: u})
	}
	resp, err := a.Client.DescribeUserScramCredentials(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("kafkaadmin: describe SCRAM credentials: %w", err)
	}
	if resp.Error != nil {
		return nil, wrap("describe SCRAM credentials", resp.Error)
	}
	for _, r := range resp.Results {
		if r.Error != nil {
			if errors.Is(r.Error, kafka.ResourceNotFound) {
				continue
			}
			return nil, wrap("describe SCRAM credential "+r.User, r.Error)
		}
		for _, ci := range r.CredentialInfos {
			if ci.Mechanism == kafka.ScramMechanismSha512 {
				out[r.User] = true
			}
		}
	}
	return out, nil
}

// wrap maps SECURITY_DISABLED to kafkaacl.ErrNoAuthorizer.
func wrap(op string, err error) error {
	if errors.Is(err, kafka.SecurityDisabled) {
		return fmt.Errorf("kafkaadmin: %s: %w (%w)", op, kafkaacl.ErrNoAuthorizer, err)
	}
	return fmt.Errorf("kafkaadmin: %s: %w", op, err)
}
